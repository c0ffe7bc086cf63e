"""The API key format: prefix, length, alphabet and checksum; the stored hash."""

import hashlib

from parley_security.api_keys import PREFIX, SECRET_PATTERN, is_well_formed, new_secret, secret_hash, shown


def test_a_new_secret_is_prefixed_checksummed_and_found_by_the_scanners_pattern() -> None:
    secret = new_secret()
    assert secret.startswith(PREFIX) and len(secret) == len(PREFIX) + 49
    assert is_well_formed(secret)
    assert SECRET_PATTERN.findall(f"leaked in a log: token={secret}; end") == [secret]
    assert shown(secret) == secret[:14]


def test_secrets_differ_and_only_their_sha256_is_stored() -> None:
    first, second = new_secret(), new_secret()
    assert first != second
    assert secret_hash(first) == hashlib.sha256(first.encode()).hexdigest()
    assert len(secret_hash(first)) == 64 and secret_hash(first) != secret_hash(second)


def test_a_typo_breaks_the_checksum_and_other_shapes_are_refused() -> None:
    secret = new_secret()
    position = len(PREFIX) + 10
    typo = secret[:position] + ("A" if secret[position] != "A" else "B") + secret[position + 1 :]
    assert not is_well_formed(typo)
    assert not is_well_formed(secret[:-1])
    assert not is_well_formed(secret.replace(PREFIX, "parley_pk_"))
    assert not is_well_formed(secret[:-6] + "!!!!!!")
    assert not is_well_formed("")
