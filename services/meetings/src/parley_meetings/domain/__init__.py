"""Meeting rules: who may create, join, end and see what."""
