"""How long `idp users import` takes for a 10,000-line file, first and second time.

    uv run python bench/bench_import.py [--lines 10000] [--methods]

Runs the real command in a temp directory with the embedded SQLite store. Lines carry an
argon2id password hash (what a migration brings); with --methods each also has a TOTP
primary and an SMS backup.
"""

from __future__ import annotations

import argparse
import base64
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from idp.settings import PasswordSettings
from idp.users.passwords import Passwords

IDP = str(Path(sys.executable).parent / "idp")
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"  # 160 bits, as new enrollments make


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=10_000)
    parser.add_argument("--methods", action="store_true")
    args = parser.parse_args()
    password_hash = Passwords(PasswordSettings()).hash("imported-password")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        key = base64.b64encode(b"k" * 32).decode()
        (work / "idp.toml").write_text(
            f'[store]\nurl = "sqlite:///store.db"\n[secrets]\ndata_keys = ["b1:{key}"]\n'
        )
        rows = []
        for i in range(args.lines):
            row: dict[str, object] = {"email": f"seller{i}@example.com", "name": f"Seller {i}",
                                      "password_hash": password_hash}
            if args.methods:
                row["methods"] = [
                    {"type": "totp", "secret": TOTP_SECRET, "role": "primary"},
                    {"type": "sms", "phone": f"+8190{i:08d}", "role": "backup"},
                ]
            rows.append(json.dumps(row))
        (work / "users.jsonl").write_text("\n".join(rows) + "\n")
        for attempt in ("first", "second"):
            start = time.perf_counter()
            result = subprocess.run(
                [IDP, "--config", "idp.toml", "users", "import", "users.jsonl"],
                cwd=work, capture_output=True, text=True, check=False,
            )
            elapsed = time.perf_counter() - start
            print(f"{attempt} import of {args.lines} lines: {elapsed:.2f} s "
                  f"({args.lines / elapsed:,.0f} lines/s): {result.stdout.strip()}"
                  f"{result.stderr.strip()[-300:]}")


if __name__ == "__main__":
    main()
