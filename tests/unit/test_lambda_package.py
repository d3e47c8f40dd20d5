import zipfile

from sandbox.lambda_package import build


def _source(tmp_path, body="def lambda_handler(e, c):\n    return 1\n"):
    src = tmp_path / "fn"
    src.mkdir(exist_ok=True)
    (src / "lambda_function.py").write_text(body)
    (src / "test_ignored.txt").write_text("not a module")
    return src


def test_zip_holds_the_modules_and_is_reproducible(tmp_path):
    src = _source(tmp_path)
    first = build(src, tmp_path / "out")
    data = first.read_bytes()
    first.unlink()
    second = build(src, tmp_path / "out")
    assert second.read_bytes() == data
    assert zipfile.ZipFile(second).namelist() == ["lambda_function.py"]


def test_changed_code_gives_a_new_zip_and_drops_the_old(tmp_path):
    first = build(_source(tmp_path), tmp_path / "out")
    second = build(_source(tmp_path, "def lambda_handler(e, c):\n    return 2\n"), tmp_path / "out")
    assert first != second and second.exists() and not first.exists()
