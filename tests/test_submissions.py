"""Finding submissions under a batch root: folders, zips, and everything a student can get wrong."""

from __future__ import annotations

import errno
import os
import shutil
import stat
import warnings
import zipfile
from datetime import datetime, timezone
from pathlib import Path

import pytest

from grader.batch import submissions
from grader.batch.submissions import (
    CHUNK,
    MAX_BYTES,
    Submission,
    SubmissionsError,
    content_hash,
    discover,
)

FILES = {
    "linear_regression.py": b"def sgd(params, lr):\n    return params\n",
    "notes/readme.md": "naïve régression\n".encode(),
    "__pycache__/linear_regression.cpython-311.pyc": bytes(range(256)),
    "data/empty.txt": b"",
}
ODD_NAMES = ["José \"Pepe\" O'Neil", "Zoë van der Berg", "名前 テスト", "a\tb", "x.y.z"]


def write(folder: Path, files: dict[str, bytes]) -> Path:
    for name, data in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def make_zip(path: Path, files: dict[str, bytes], wrap: str = "") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(wrap + name, data)
    return path


def zip_member(path: Path, name: str, data: bytes = b"x", mode: int = 0) -> Path:
    """A zip holding a good file, then one member with the given name and Unix mode."""
    info = zipfile.ZipInfo(name)
    info.external_attr = mode << 16
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("good.py", b"ok")
        zf.writestr(info, data)
    return path


def patch_headers(path: Path, central: tuple[int, bytes], local: tuple[int, bytes]) -> None:
    """Overwrite bytes at an offset in every central directory entry and local file header."""
    data = bytearray(path.read_bytes())
    for signature, (offset, value) in ((b"PK\x01\x02", central), (b"PK\x03\x04", local)):
        start = data.find(signature)
        while start != -1:
            data[start + offset : start + offset + len(value)] = value
            start = data.find(signature, start + 4)
    path.write_bytes(bytes(data))


def only(root: Path, unpack_to: Path, **limits: int) -> Submission:
    [found] = discover(root, unpack_to, **limits)
    return found


def files_under(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if not p.is_dir()] if folder.exists() else []


def test_folders_and_zips_are_found_side_by_side_sorted(tmp_path):
    root = tmp_path / "root"
    write(root / "bob", {"a.py": b"b"})
    write(root / "dave", {"a.py": b"d"})
    make_zip(root / "alice.zip", {"a.py": b"a"})
    make_zip(root / "Carol.ZIP", {"a.py": b"c"})
    (root / "notes.txt").write_text("not a submission")
    found = discover(root, tmp_path / "unpacked")
    assert [s.student for s in found] == ["alice", "bob", "Carol", "dave"]
    assert [s.problem for s in found] == [""] * 4
    assert [(s.folder / "a.py").read_bytes() for s in found] == [b"a", b"b", b"c", b"d"]
    assert found[1].folder == found[1].source == root / "bob"
    assert found[0].source == root / "alice.zip"
    assert found[0].folder.is_relative_to(tmp_path / "unpacked")


def test_hidden_entries_and_macosx_are_skipped(tmp_path):
    root = tmp_path / "root"
    write(root / "alice", {"a.py": b"a"})
    write(root / ".git", {"HEAD": b"ref"})
    write(root / "__MACOSX", {"._alice": b"junk"})
    (root / ".DS_Store").write_bytes(b"junk")
    make_zip(root / "._alice.zip", {"a.py": b"junk"})
    assert [s.student for s in discover(root, tmp_path / "unpacked")] == ["alice"]


@pytest.mark.parametrize("name", ODD_NAMES)
@pytest.mark.parametrize("zipped", [False, True], ids=["folder", "zip"])
def test_odd_names_are_kept_as_the_student(tmp_path, name, zipped):
    root, unpack_to = tmp_path / "root", tmp_path / "unpacked"
    if zipped:
        make_zip(root / f"{name}.zip", {"a.py": b"a"})
    else:
        write(root / name, {"a.py": b"a"})
    found = only(root, unpack_to)
    assert (found.student, found.problem) == (name, "")
    assert (found.folder / "a.py").read_bytes() == b"a"
    if zipped:
        [unpacked] = unpack_to.iterdir()
        assert unpacked == found.folder
        assert unpacked.name.replace("-", "").replace("_", "").isalnum()
        assert unpacked.name.isascii()


def test_names_differing_only_in_replaced_characters_unpack_apart(tmp_path):
    root, unpack_to = tmp_path / "root", tmp_path / "unpacked"
    for name in ["José", "Josè", "Jos_", "Jos?"]:
        make_zip(root / f"{name}.zip", {"who.txt": name.encode()})
    found = discover(root, unpack_to)
    assert len({s.folder for s in found}) == 4
    assert [(s.folder / "who.txt").read_text() for s in found] == [s.student for s in found]


@pytest.mark.parametrize("wrapped", [True, False], ids=["wrapped", "unwrapped"])
def test_zip_hash_equals_the_hash_of_the_folder_it_was_made_from(tmp_path, wrapped):
    root, source = tmp_path / "root", write(tmp_path / "src" / "alice", FILES)
    shutil.copytree(source, root / "alice")
    if wrapped:  # as `zip -r alice.zip alice` does it
        archive = shutil.make_archive(str(root / "bob"), "zip", source.parent, "alice")
    else:  # as `cd alice && zip -r ../alice.zip .` does it
        archive = shutil.make_archive(str(root / "bob"), "zip", source)
    with zipfile.ZipFile(archive, "a") as zf:  # what macOS's Finder adds
        zf.writestr("__MACOSX/alice/._linear_regression.py", b"resource fork")
        if wrapped:
            zf.writestr(".DS_Store", b"finder")
    alice, bob = discover(root, tmp_path / "unpacked")
    assert (alice.problem, bob.problem) == ("", "")
    assert bob.content_hash == alice.content_hash == content_hash(source)
    assert sorted(p.relative_to(bob.folder) for p in files_under(bob.folder)) == sorted(
        Path(name) for name in FILES
    )


@pytest.mark.parametrize(
    "change",
    [
        {"linear_regression.py": FILES["linear_regression.py"].replace(b"lr", b"lR")},
        {"notes/readme.md": None, "notes/readme.MD": FILES["notes/readme.md"]},
        {"notes/readme.md": None, "readme.md": FILES["notes/readme.md"]},
        {"data/empty.txt": None},
        {"data/other.txt": b""},
        {"__pycache__/x.pyc": b"\0"},
    ],
    ids=["one-byte", "renamed", "moved", "file-removed", "empty-file-added", "pycache-added"],
)
def test_hash_changes_when_anything_changes(tmp_path, change):
    original = write(tmp_path / "a", FILES)
    changed = dict(FILES, **change)
    changed = write(tmp_path / "b", {k: v for k, v in changed.items() if v is not None})
    assert content_hash(original) == content_hash(write(tmp_path / "c", FILES))
    assert content_hash(changed) != content_hash(original)


@pytest.mark.parametrize(
    "left, right",
    [
        ({"ab": b"c"}, {"a": b"bc"}),
        ({"a": b"", "b": b""}, {"a": b"b"}),
        ({"x": b"12"}, {"x1": b"2"}),
        ({"a/b": b"c"}, {"a": b"/bc"}),
    ],
)
def test_different_trees_never_collide_by_concatenation(tmp_path, left, right):
    assert content_hash(write(tmp_path / "l", left)) != content_hash(write(tmp_path / "r", right))


@pytest.mark.parametrize("link", ["alice", "bob.zip"])
def test_a_symlinked_entry_is_a_problem_and_never_followed(tmp_path, link):
    root, unpack_to = tmp_path / "root", tmp_path / "unpacked"
    target = write(tmp_path / "outside" / "real", {"secret.txt": b"root's secret"})
    if link.endswith(".zip"):
        target = make_zip(tmp_path / "outside" / "real.zip", {"secret.txt": b"root's secret"})
    root.mkdir()
    (root / link).symlink_to(target)
    found = only(root, unpack_to)
    assert found.student == link.removesuffix(".zip")
    assert found.problem == f"{link} is a symbolic link; submit a real folder"
    assert (found.folder, found.submitted_at) == (None, None)
    assert files_under(unpack_to) == []


def test_symlinks_inside_a_folder_are_ignored_and_their_targets_never_read(tmp_path):
    root = tmp_path / "root"
    secret = write(tmp_path / "outside", {"secret.txt": b"root's secret"})
    alice = write(root / "alice", {"a.py": b"a", "sub/b.py": b"b"})
    (alice / "secret.txt").symlink_to(secret / "secret.txt")
    (alice / "sub" / "data").symlink_to(secret)
    (alice / "dangling.py").symlink_to(tmp_path / "nowhere")
    plain = write(tmp_path / "plain", {"a.py": b"a", "sub/b.py": b"b"})
    found = only(root, tmp_path / "unpacked")
    assert found.problem == ""
    assert found.content_hash == content_hash(plain)


@pytest.mark.parametrize(
    "member",
    ["../evil.py", "{outside}/evil.py", "a/../../evil.py", "..\\evil.py", "C:/evil.py",
     "ok/./../../evil.py"],
)
def test_a_member_pointing_outside_is_refused_and_nothing_is_left(tmp_path, member):
    root, unpack_to = tmp_path / "root", tmp_path / "unpacked"
    member = member.format(outside=tmp_path / "outside")
    root.mkdir()
    zip_member(root / "alice.zip", member, b"import os")
    found = only(root, unpack_to)
    assert found.problem == (
        f"alice.zip: member {member} points outside the folder; zip relative paths"
    )
    assert found.folder is None
    assert files_under(unpack_to) == []
    assert [p for p in tmp_path.rglob("*evil.py")] == []


@pytest.mark.parametrize(
    "mode, says",
    [
        (stat.S_IFLNK | 0o777, "is a symbolic link; zip real files only"),
        (stat.S_IFIFO | 0o644, "is not a regular file or folder; remove it"),
        (stat.S_IFCHR | 0o644, "is not a regular file or folder; remove it"),
    ],
    ids=["symlink", "fifo", "device"],
)
def test_a_link_or_special_member_is_refused(tmp_path, mode, says):
    root, unpack_to = tmp_path / "root", tmp_path / "unpacked"
    root.mkdir()
    zip_member(root / "alice.zip", "data.py", str(tmp_path / "secret").encode(), mode)
    found = only(root, unpack_to)
    assert found.problem == f"alice.zip: member data.py {says}"
    assert found.folder is None
    assert files_under(unpack_to) == []


def test_an_encrypted_member_is_refused(tmp_path):
    root = tmp_path / "root"
    path = make_zip(root / "alice.zip", {"a.py": b"a"})
    patch_headers(path, central=(8, b"\x01\x00"), local=(6, b"\x01\x00"))  # flag bit 0
    found = only(root, tmp_path / "unpacked")
    assert found.problem == "alice.zip: member a.py is encrypted; zip it without a password"
    assert found.folder is None


def test_a_zip_bomb_is_refused_before_unpacking(tmp_path):
    root, unpack_to = tmp_path / "root", tmp_path / "unpacked"
    path = make_zip(root / "alice.zip", {"a.py": b"a", "zeros.bin": bytes(64 * 2**20)})
    assert path.stat().st_size < 2**20
    found = only(root, unpack_to)
    assert found.problem == "alice.zip unpacks to 64.0 MiB; the limit is 32 MiB"
    assert found.folder is None
    assert files_under(unpack_to) == []


def test_a_header_lying_about_the_size_is_caught(tmp_path):
    root, unpack_to = tmp_path / "root", tmp_path / "unpacked"
    path = make_zip(root / "alice.zip", {"zeros.bin": bytes(4 * 2**20)})
    small = (100).to_bytes(4, "little")  # uncompressed size: offset 24 centrally, 22 locally
    patch_headers(path, central=(24, small), local=(22, small))
    assert zipfile.ZipFile(path).infolist()[0].file_size == 100
    found = only(root, unpack_to, max_bytes=1000)
    assert found.problem.startswith("alice.zip is not a valid zip file: ")
    assert found.folder is None
    assert files_under(unpack_to) == []


class Endless:
    """A zip member that never stops producing zeros, whatever its header says."""

    def __init__(self) -> None:
        self.served = 0

    def read(self, n: int = -1) -> bytes:
        assert self.served < 64 * 2**20, "kept reading past the cap"
        self.served += CHUNK
        return bytes(CHUNK)

    def __enter__(self) -> Endless:
        return self

    def __exit__(self, *exc) -> None:
        pass


def test_streaming_stops_as_soon_as_the_bytes_written_pass_the_cap(tmp_path, monkeypatch):
    root, unpack_to = tmp_path / "root", tmp_path / "unpacked"
    make_zip(root / "alice.zip", {"a.py": b"a", "zeros.bin": b"tiny"})
    member = Endless()
    monkeypatch.setattr(zipfile.ZipFile, "open", lambda self, info, *args, **kwargs: member)
    found = only(root, unpack_to, max_bytes=5 * CHUNK)
    assert found.problem == f"alice.zip: member a.py takes it past the {5 * CHUNK} bytes limit"
    assert member.served == 6 * CHUNK
    assert found.folder is None
    assert files_under(unpack_to) == []


@pytest.mark.parametrize(
    "zipped, problem",
    [(False, "alice/ holds 4 files; the limit is 3"),
     (True, "alice.zip holds 4 members; the limit is 3")],
    ids=["folder", "zip"],
)
def test_too_many_files_is_a_problem(tmp_path, zipped, problem):
    root, files = tmp_path / "root", {f"{i}.py": b"" for i in range(4)}
    make_zip(root / "alice.zip", files) if zipped else write(root / "alice", files)
    found = only(root, tmp_path / "unpacked", max_files=3)
    assert (found.problem, found.folder) == (problem, None)
    assert only(root, tmp_path / "unpacked2", max_files=4).problem == ""


def good_zip_bytes(tmp_path: Path) -> bytes:
    path = tmp_path / "good.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("a.py", b"print('hello')\n" * 20)
    return path.read_bytes()


@pytest.mark.parametrize(
    "corrupt",
    [lambda good: b"", lambda good: b"not a zip at all", lambda good: good[: len(good) // 2],
     lambda good: good.replace(b"hello", b"HELLO", 1)],
    ids=["empty-file", "text", "truncated", "flipped-bytes"],
)
def test_a_corrupt_zip_is_a_problem(tmp_path, corrupt):
    root, unpack_to = tmp_path / "root", tmp_path / "unpacked"
    root.mkdir()
    (root / "alice.zip").write_bytes(corrupt(good_zip_bytes(tmp_path)))
    found = only(root, unpack_to)
    assert found.problem.startswith("alice.zip is not a valid zip file: ")
    assert "\n" not in found.problem
    assert (found.folder, found.submitted_at) == (None, None)
    assert files_under(unpack_to) == []


@pytest.mark.parametrize(
    "second, why", [("a.py/b.py", "Not a directory"), ("a.py", "File exists")],
    ids=["under-a-file", "duplicate"],
)
def test_a_member_clashing_with_another_is_a_problem(tmp_path, second, why):
    root = tmp_path / "root"
    root.mkdir()
    with zipfile.ZipFile(root / "alice.zip", "w") as zf, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns of the duplicate name
        zf.writestr("a.py", b"first")
        zf.writestr(second, b"second")
    found = only(root, tmp_path / "unpacked")
    assert found.problem == f"alice.zip: cannot unpack member {second}: {why}"
    assert found.folder is None


def test_one_unreadable_entry_does_not_stop_discovery(tmp_path, monkeypatch):
    root = tmp_path / "root"
    write(root / "alice", {"a.py": b"a"})
    write(root / "bob", {"a.py": b"b"})
    real_walk = submissions._walk

    def flaky_walk(folder, read=False):
        if folder.name == "alice":
            raise OSError(errno.EIO, "Input/output error")
        return real_walk(folder, read)

    monkeypatch.setattr(submissions, "_walk", flaky_walk)
    alice, bob = discover(root, tmp_path / "unpacked")
    assert alice.problem == "alice could not be read: Input/output error"
    assert alice.folder is None
    assert (bob.problem, bob.folder) == ("", root / "bob")
    again, _ = discover(root, tmp_path / "unpacked")
    assert again.content_hash != alice.content_hash  # so a later batch tries it again


def test_a_folder_and_a_zip_of_one_student_clash(tmp_path):
    root = tmp_path / "root"
    write(root / "alice", {"a.py": b"a"})
    make_zip(root / "alice.zip", {"a.py": b"a"})
    write(root / "bob", {"a.py": b"b"})
    alice, bob = discover(root, tmp_path / "unpacked")
    assert alice.problem == "both alice/ and alice.zip exist; keep one"
    assert (alice.source, alice.folder) == (root / "alice", None)
    assert (bob.problem, bob.folder) == ("", root / "bob")


def test_an_oversize_folder_is_refused_without_reading_its_bytes(tmp_path):
    root = tmp_path / "root"
    alice = write(root / "alice", {"a.py": b"a"})
    with open(alice / "checkpoint.pt", "wb") as f:
        f.truncate(40 * 2**20)  # sparse: 40 MiB on paper, nothing on disk
    found = only(root, tmp_path / "unpacked")
    assert found.problem == "alice/ holds 40.0 MiB; the limit is 32 MiB"
    assert found.folder is None
    with open(alice / "checkpoint.pt", "r+b") as f:
        f.write(b"\1")  # same size, other bytes: unseen when only the listing is hashed
    assert only(root, tmp_path / "unpacked").content_hash == found.content_hash
    assert found.content_hash != content_hash(alice)
    assert MAX_BYTES == 32 * 2**20


def test_a_missing_root_raises(tmp_path):
    with pytest.raises(SubmissionsError) as raised:
        discover(tmp_path / "nope", tmp_path / "unpacked")
    assert str(raised.value).startswith(f"{tmp_path / 'nope'}: not found")
    assert "\n" not in str(raised.value)


def test_a_root_that_is_a_file_raises(tmp_path):
    (tmp_path / "root.zip").write_bytes(b"")
    with pytest.raises(SubmissionsError, match="is a file, not a folder of submissions") as raised:
        discover(tmp_path / "root.zip", tmp_path / "unpacked")
    assert "\n" not in str(raised.value)


def test_an_empty_folder_or_zip_is_found_and_hashed(tmp_path):
    root = tmp_path / "root"
    (root / "alice").mkdir(parents=True)
    make_zip(root / "bob.zip", {})
    alice, bob = discover(root, tmp_path / "unpacked")
    assert (alice.problem, bob.problem) == ("", "")
    assert list(bob.folder.iterdir()) == []
    assert alice.content_hash == bob.content_hash == content_hash(tmp_path / "root" / "alice")
    assert (alice.submitted_at, bob.submitted_at) == (None, None)


def test_unpacked_files_get_plain_modes(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    with zipfile.ZipFile(root / "alice.zip", "w") as zf:
        for name, mode in [("pkg/", stat.S_IFDIR | 0o7777), ("pkg/run.py", stat.S_IFREG | 0o6777),
                           ("a.py", stat.S_IFREG | 0o4700)]:
            info = zipfile.ZipInfo(name)
            info.external_attr = mode << 16
            zf.writestr(info, b"" if name.endswith("/") else b"x")
    found = only(root, tmp_path / "unpacked")
    paths = [found.folder, *found.folder.rglob("*")]
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in paths}
    assert modes == {found.folder.name: 0o755, "pkg": 0o755, "run.py": 0o644, "a.py": 0o644}


def test_submitted_at_is_the_newest_file_in_utc(tmp_path):
    root = tmp_path / "root"
    alice = write(root / "alice", {"old.py": b"", "sub/new.py": b""})
    newest = datetime(2024, 3, 4, 12, 30, 15, tzinfo=timezone.utc)
    os.utime(alice / "old.py", (0, datetime(2024, 1, 1, tzinfo=timezone.utc).timestamp()))
    os.utime(alice / "sub" / "new.py", (0, newest.timestamp()))
    with zipfile.ZipFile(root / "bob.zip", "w") as zf:
        zf.writestr(zipfile.ZipInfo("old.py", date_time=(2023, 1, 2, 3, 4, 6)), b"")
        zf.writestr(zipfile.ZipInfo("new.py", date_time=(2024, 5, 6, 7, 8, 10)), b"")
    alice, bob = discover(root, tmp_path / "unpacked")
    assert alice.submitted_at == newest
    assert bob.submitted_at == datetime(2024, 5, 6, 7, 8, 10, tzinfo=timezone.utc)


def test_discovering_again_into_the_same_folder_replaces_the_copy(tmp_path):
    root, unpack_to = tmp_path / "root", tmp_path / "unpacked"
    make_zip(root / "alice.zip", {"a.py": b"a"}, wrap="alice/")
    first = only(root, unpack_to)
    (first.folder / "stale.py").write_bytes(b"left over")
    again = only(root, unpack_to)
    assert again.folder == first.folder
    assert sorted(p.name for p in again.folder.iterdir()) == ["a.py"]
    assert again.content_hash == first.content_hash
