"""The Python side of the Node relying party (``node/rp.mjs``, panva's openid-client v6): one
phase per process, a JSON request on standard input, a JSON answer on standard output.

What the client rejected comes back as data (``step`` and ``error``), so a failing interop
test says exactly which of the client's checks the provider failed."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

NODE_DIR = Path(__file__).parent / "node"
RP_SCRIPT = NODE_DIR / "rp.mjs"
# One phase does discovery plus at most a handful of loopback requests.
PHASE_TIMEOUT_S = 60


@dataclass(frozen=True)
class NodeRp:
    """How to run ``rp.mjs``: the ``node`` executable found on the PATH."""

    node: str

    def run(self, phase: str, request: dict[str, Any]) -> dict[str, Any]:
        """The phase's answer, ``{"ok": false, ...}`` included; a crash is an error."""
        completed = subprocess.run(
            [self.node, str(RP_SCRIPT), phase], input=json.dumps(request), capture_output=True,
            text=True, timeout=PHASE_TIMEOUT_S, check=False, cwd=NODE_DIR)
        try:
            answer: dict[str, Any] = json.loads(completed.stdout)
        except json.JSONDecodeError:
            raise AssertionError(f"rp.mjs {phase} exited {completed.returncode} without an "
                                 f"answer: {completed.stderr[-3000:]}") from None
        return answer

    def ok(self, phase: str, request: dict[str, Any]) -> dict[str, Any]:
        """The phase's answer, which must be a success: else what the client rejected."""
        answer = self.run(phase, request)
        assert answer["ok"], rejection(phase, answer)
        return answer


def rejection(phase: str, answer: dict[str, Any]) -> str:
    """What openid-client refused, for the assertion message."""
    return (f"openid-client refused the provider in phase {phase!r} at step "
            f"{answer.get('step')!r} (after {answer.get('steps')}): "
            + json.dumps(answer.get("error"), indent=1, sort_keys=True))
