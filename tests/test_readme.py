"""The README's quickstart runs exactly as written."""

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_quickstart_runs(capsys):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert blocks, "README has no python code block"
    exec(compile(blocks[0], str(README), "exec"), {"__name__": "__readme__"})
    assert "P-MPJPE" in capsys.readouterr().out
