"""tests/suite.py: the two phases' pytest arguments and the sum of their closing lines."""

import importlib.util
from collections import Counter
from pathlib import Path

spec = importlib.util.spec_from_file_location("suite", Path(__file__).resolve().parents[1] / "suite.py")
suite = importlib.util.module_from_spec(spec)
spec.loader.exec_module(suite)


def test_the_exclusive_tests_run_after_the_others_and_alone() -> None:
    parallel, exclusive = suite.phase_args(["tests/e2e", "-x"], workers=2)
    assert parallel == ["-n", "2", "-m", "not exclusive", "tests/e2e", "-x"]
    assert exclusive == ["-p", "no:xdist", "-m", "exclusive", "tests/e2e", "-x"]


def test_a_marker_expression_of_the_caller_narrows_each_phase() -> None:
    for args in (["-m", "browser or e2e", "-k", "join"], ["-mbrowser or e2e", "-k", "join"]):
        parallel, exclusive = suite.phase_args(args, workers=0)
        assert parallel == ["-m", "(browser or e2e) and not exclusive", "-k", "join"]
        assert exclusive == ["-p", "no:xdist", "-m", "(browser or e2e) and exclusive", "-k", "join"]


def test_the_closing_lines_of_both_phases_add_up_in_pytests_words() -> None:
    first = suite.counts_of("===== 950 passed, 1 failed, 2 warnings in 800.12s (0:13:20) =====")
    second = suite.counts_of("========== 58 passed, 1 error, 3 deselected in 600.50s ==========")
    assert suite.counts_of("tests/e2e/test_x.py ..F.") is None
    total = first + second
    assert total == Counter(passed=1008, failed=1, warning=2, error=1)
    assert suite.summary_words(total) == "1008 passed, 1 failed, 1 error, 2 warnings"
    assert suite.summary_words(Counter()) == "no tests ran"
