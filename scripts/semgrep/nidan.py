# Test cases for nidan.yml (`semgrep --test scripts/semgrep`): each rule must fire on the
# lines marked "ruleid" and stay silent on those marked "ok".
import hmac

# ruleid: random-module-for-secrets
import random
import secrets

from joserfc import jwt


def compare(stored_secret: str, submitted: str, token: str | None) -> bool:
    # ruleid: secret-compared-with-equals
    if stored_secret == submitted:
        return True
    # ok: secret-compared-with-equals
    if token == "none":
        return False
    # ok: secret-compared-with-equals
    if token is None:
        return False
    # ok: secret-compared-with-equals
    return hmac.compare_digest(stored_secret, submitted)


def decode(token: str, key: object) -> object:
    # ruleid: jwt-decode-without-algorithms
    jwt.decode(token, key)
    # ok: jwt-decode-without-algorithms
    return jwt.decode(token, key, algorithms=["RS256"])


def new_code() -> str:
    # ruleid: random-module-for-secrets
    weak = random.randint(0, 999_999)
    # ok: random-module-for-secrets
    strong = secrets.randbelow(1_000_000)
    return f"{weak}{strong}"
