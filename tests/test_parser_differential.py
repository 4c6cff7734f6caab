"""Differential test: mldlint's parser against BuildKit's (the PyPI ``dockerfile`` package).

For every Dockerfile in fixtures/, ../shared/cases/ and the real-world datasets that BuildKit's
parser accepts, the instruction keywords, start and end lines, flags, arguments, exec form and
heredocs must be equal. Where BuildKit rejects a file, mldlint must report a syntax error
(MLD001) at a line.
"""

from __future__ import annotations

import pytest

from conftest import CASES, ROOT
from oracle import compare

pytest.importorskip("dockerfile")


def _local_files():
    files = sorted((ROOT / "fixtures").rglob("*Dockerfile*"))
    if CASES.exists():
        files += sorted(CASES.rglob("*.Dockerfile"))
    return files


@pytest.mark.parametrize("path", _local_files(), ids=lambda p: p.name)
def test_fixture_and_case_files_agree_with_buildkit(path):
    assert compare(path.read_bytes(), str(path)) is None


@pytest.mark.slow
def test_datasets_agree_with_buildkit(dataset_files):
    assert len(dataset_files) > 5000
    differences = []
    for path in dataset_files:
        diff = compare(path.read_bytes(), str(path))
        if diff:
            differences.append(f"{path.name}: {diff}")
    assert differences == [], "\n".join(differences[:20])


HANDWRITTEN = [
    "FROM a\nRUN a \\\n\n  # c\n  b\n",
    "FROM a\nRUN echo a \\   \n  b\n",
    "# escape=`\nFROM a\nRUN a `\n b\n",
    "\n# escape=`\nRUN a `\n b\n",
    "FROM a\r\nRUN a \\\r\n  b\r\n",
    "\ufeffFROM a\nRUN b",
    "from a\nrun b\n",
    "FROM a\nRUN <<EOF\necho hi\nEOF\n",
    "FROM a\nRUN <<-EOF\n\techo\n\tEOF\n",
    "FROM a\nRUN python3 <<EOF\nprint(1)\nEOF\n",
    "FROM a\nRUN cat <<EOF >x && cat <<'E2'\na\nEOF\nb\nE2\n",
    "FROM a\nCOPY <<a.txt <<\"b\" /x\nA\na.txt\nB\nb\n",
    "FROM a\nCMD ['python','app.py']\n",
    "FROM a\nCMD [\"a\", \"b\"] # x\n",
    "FROM a\nONBUILD RUN echo hi\n",
    "FROM a\nHEALTHCHECK NONE\n",
    "FROM a\nHEALTHCHECK --interval=5s CMD curl -f http://x/ || exit 1\n",
    "FROM a\nENV A 1 2\nENV B=1 C=\"2 3\"\nLABEL a=b c=d\nARG X Y=z\n",
    "FROM a\nCOPY --from base /a /b\nCOPY -- --x y\n",
    "FROM a\nRUN <<EOF\nhi\n",
    "FROM a\nENV A\n",
    "FROM a\nCOPY [\"a\", 1] b\n",
    "",
    "# only a comment\n",
    "FROM a\nRUN echo \\\n",
]


@pytest.mark.parametrize("text", HANDWRITTEN)
def test_handwritten_inputs_agree_with_buildkit(text):
    assert compare(text.encode("utf-8")) is None
