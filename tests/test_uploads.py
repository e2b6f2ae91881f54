"""What the service takes as an upload, and the zip a job stores of it (grader.service.uploads)."""

from __future__ import annotations

import io
import json
import stat
import warnings
import zipfile
from collections.abc import Sequence

import pytest

from grader import options
from grader.batch.submissions import content_hash, discover
from grader.service.uploads import ZIP_BYTES, Upload, UploadRefused, accept_upload

STUDENT_FILE = "softmax_regression.py"
CODE = b"def softmax(X):\n    return X.exp() / X.exp().sum(1, keepdim=True)\n"
NOTEBOOK = json.dumps({"cells": [{"cell_type": "code", "source": CODE.decode(), "metadata": {},
                                  "outputs": [], "execution_count": None}],
                       "metadata": {}, "nbformat": 4, "nbformat_minor": 5}).encode()
LIMIT = options.UPLOAD_MAX_BYTES
MIB = 2**20


def accept(files: Sequence[tuple[str, bytes]], **limits) -> Upload:
    return accept_upload(files, STUDENT_FILE, max_bytes=limits.pop("max_bytes", LIMIT), **limits)


def refused(files: Sequence[tuple[str, bytes]], **limits) -> UploadRefused:
    with pytest.raises(UploadRefused) as caught:
        accept(files, **limits)
    return caught.value


def zip_of(members: Sequence[tuple[str | zipfile.ZipInfo, bytes]]) -> bytes:
    """A zip as a student's tool makes one, members in the order given."""
    buffer = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        warnings.simplefilter("ignore")  # "Duplicate name": one test means it
        for member, data in members:
            archive.writestr(member, data)
    return buffer.getvalue()


def special(name: str, kind: int) -> zipfile.ZipInfo:
    """A member whose Unix mode says ``kind`` (a link, a device)."""
    info = zipfile.ZipInfo(name)
    info.create_system, info.external_attr = 3, (kind | 0o777) << 16
    return info


def unpacked(upload: Upload) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(upload.zip)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


# What is taken, and as what

@pytest.mark.parametrize("name, data, stored", [
    ("my try.py", CODE, STUDENT_FILE),  # a single file is the assignment's, whatever its name
    (STUDENT_FILE, CODE, STUDENT_FILE),
    ("Attempt 2.IPYNB", NOTEBOOK, "softmax_regression.ipynb"),
    ("softmax_regression.ipynb", NOTEBOOK, "softmax_regression.ipynb"),
])
def test_one_file_is_taken_as_the_assignments_file(name, data, stored):
    upload = accept([(name, data)])
    assert unpacked(upload) == {stored: data}
    assert upload.names == (stored,) and upload.size == len(upload.zip)


def test_a_zip_of_a_folder_is_unwrapped_as_a_batch_unwraps_it(tmp_path):
    sent = zip_of([("hw1/", b""), (f"hw1/{STUDENT_FILE}", CODE), ("hw1/data/x.csv", b"1,2\n"),
                   ("__MACOSX/hw1/._x.csv", b"\0"), (".DS_Store", b"\0")])
    upload = accept([("hw1.zip", sent)])
    assert unpacked(upload) == {STUDENT_FILE: CODE, "data/x.csv": b"1,2\n"}
    assert upload.names == ("data/x.csv", STUDENT_FILE)
    # the trusted computation: the batch's own unpacking of the same zip finds the same files
    (tmp_path / "root").mkdir()
    (tmp_path / "root" / "alice.zip").write_bytes(sent)
    (found,) = discover(tmp_path / "root", tmp_path / "unpacked")
    assert found.problem == "" and found.folder.name == "hw1"
    (tmp_path / "root" / "bob.zip").write_bytes(upload.zip)
    stored = next(s for s in discover(tmp_path / "root", tmp_path / "again") if s.student == "bob")
    assert stored.content_hash == content_hash(found.folder)


def test_a_zip_of_files_and_several_files_are_the_folders_files():
    files = [(STUDENT_FILE, CODE), ("helpers.py", b"EPS = 1e-6\n"), ("empty.txt", b"")]
    from_zip = accept([("mine.zip", zip_of(files))])
    from_files = accept(files)
    assert unpacked(from_zip) == unpacked(from_files) == dict(files)
    assert from_files.names == ("empty.txt", "helpers.py", STUDENT_FILE)


def test_the_same_files_make_the_same_bytes_however_they_came():
    files = [(STUDENT_FILE, CODE), ("helpers.py", b"EPS = 1e-6\n")]
    dated = []
    for when, name in [((2020, 5, 1, 12, 0, 0), STUDENT_FILE),
                       ((2031, 1, 2, 3, 4, 6), "helpers.py")]:
        info = zipfile.ZipInfo(name, date_time=when)
        info.external_attr = (stat.S_IFREG | 0o755) << 16
        dated.append((info, dict(files)[name]))
    ways = [files, files[::-1], [("a.zip", zip_of(files))], [("b.zip", zip_of(dated[::-1]))],
            [("wrapped.zip", zip_of([(f"x/{n}", d) for n, d in files]))]]
    stored = {accept(way).zip for way in ways}
    assert len(stored) == 1
    with zipfile.ZipFile(io.BytesIO(stored.pop())) as archive:
        infos = archive.infolist()
    assert [i.filename for i in infos] == ["helpers.py", STUDENT_FILE]
    assert {(i.date_time, i.external_attr >> 16) for i in infos} == {
        ((1980, 1, 1, 0, 0, 0), stat.S_IFREG | 0o644)}


def test_a_zip_at_the_entry_limit_is_taken():
    members = [(STUDENT_FILE, CODE)] + [(f"f{i}.txt", b"x") for i in range(199)]
    assert len(accept([("many.zip", zip_of(members))]).names) == 200


# What is refused, with its status and reason

def test_the_size_limit_comes_first():
    """413 before anything is looked at: not the name, not the kind, not the zip."""
    err = refused([("../bad\n.exe", b"x" * (LIMIT + 1))])
    assert (err.status, err.reason) == (
        413, "'../bad\\n.exe' is 5,242,881 bytes; the limit is 5,242,880 bytes (5 MiB)")
    err = refused([("a.py", b"x" * 600), ("b.py", b"y" * 500)], max_bytes=1000)
    assert (err.status, err.reason) == (413, "the upload is 1,100 bytes; the limit is 1,000 "
                                             "bytes (1,000 bytes)")
    assert accept([(STUDENT_FILE, b"x" * LIMIT)]).names == (STUDENT_FILE,)


TAKE = "send softmax_regression.py, its notebook or a zip of your folder"


@pytest.mark.parametrize("files, reason", [
    ([], f"the upload holds no file; {TAKE}"),
    ([("", b"")], f"the upload holds no file; {TAKE}"),  # a browser's empty file input
    ([("", CODE)], "a file in the upload has no name; send it with its name"),
    ([("notes.txt", CODE)], f"'notes.txt' is not a .py, .ipynb or .zip file; {TAKE}"),
    ([("softmax.py", b"")], "'softmax.py' is empty (0 bytes); send the file with your code"),
    ([("../softmax.py", CODE)],
     "the file name '../softmax.py' is a path; send the file under its own name"),
    ([("hw/softmax.py", CODE)],
     "the file name 'hw/softmax.py' is a path; send the file under its own name"),
    ([("C:softmax.py", CODE)],
     "the file name 'C:softmax.py' is a path; send the file under its own name"),
    ([("hw\\softmax.py", CODE)],
     "the file name 'hw\\\\softmax.py' is a path; send the file under its own name"),
    ([("x\x1b]0;owned\x07.py", CODE)],
     "the file name 'x\\x1b]0;owned\\x07.py' has control characters; rename the file"),
    ([("evil\u202eyp.py", CODE)],
     "the file name 'evil\\u202eyp.py' has control characters; rename the file"),
    ([(STUDENT_FILE, CODE), ("hw.zip", zip_of([(STUDENT_FILE, CODE)]))],
     "'hw.zip' is a zip among 2 files; send the zip alone, or the files without it"),
    ([(STUDENT_FILE, CODE), (STUDENT_FILE, CODE)],
     "the upload holds two files named 'softmax_regression.py'; send each file once"),
    ([(STUDENT_FILE, b""), ("notes.md", b"")],
     "the upload holds only empty files; send the files with your code"),
    ([(STUDENT_FILE, CODE), ("softmax_regression.ipynb", NOTEBOOK)],
     "the upload holds both softmax_regression.py and softmax_regression.ipynb; keep one, the "
     "grader cannot tell which you meant"),
    ([("softmax.py", CODE), ("helpers.py", CODE)],
     "the upload holds neither softmax_regression.py nor softmax_regression.ipynb at its top; "
     "send your folder with one of them in it"),
    ([(f"f{i}.py", CODE) for i in range(201)], "the upload holds 201 files; the limit is 200"),
])
def test_files_that_cannot_be_a_submission_are_refused(files, reason):
    err = refused(files)
    assert (err.status, err.reason, err.retry_after) == (400, reason, None)
    assert str(err) == reason


def bomb(declared_mib: int) -> bytes:
    """A small zip that unpacks to ``declared_mib`` MiB of zeros."""
    return zip_of([(STUDENT_FILE, CODE), ("weights.bin", bytes(declared_mib * MIB))])


def patched(data: bytes, member: str, field: str, value: int) -> bytes:
    """``data`` with one field of ``member``'s local and central headers set to ``value``, as a
    hand-made zip can say anything (zipfile writes them right)."""
    local_at, central_at, width = {"flags": (6, 8, 2), "file_size": (22, 24, 4)}[field]
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        local, start_dir = archive.getinfo(member).header_offset, archive.start_dir
    central = data.index(member.encode(), start_dir) - 46  # the name follows its 46-byte header
    changed = bytearray(data)
    for at in (local + local_at, central + central_at):
        changed[at:at + width] = value.to_bytes(width, "little")
    return bytes(changed)


def test_a_zip_bomb_is_refused_by_its_declared_size():
    over = ZIP_BYTES // MIB + 1  # the least the sandbox could not grade
    sent = bomb(over)
    assert len(sent) < LIMIT / 10
    err = refused([("bomb.zip", sent)])
    assert (err.status, err.reason) == (
        400, f"'bomb.zip' unpacks to {over} MiB; the limit is {ZIP_BYTES // MIB} MiB")


def test_a_zip_whose_headers_understate_its_size_is_refused_once_it_expands():
    """The declared sizes say 100 bytes; the data inflates to 51 MiB: what comes out is counted
    and stops at the declared size, and the member then fails its checksum."""
    sent = patched(bomb(51), "weights.bin", "file_size", 100)
    with zipfile.ZipFile(io.BytesIO(sent)) as archive:
        assert sum(i.file_size for i in archive.infolist()) < 1000
    err = refused([("liar.zip", sent)])
    assert (err.status, err.reason) == (
        400, "'liar.zip' is not a valid zip file: Bad CRC-32 for file 'weights.bin'")


@pytest.mark.parametrize("members, reason", [
    ([("../x.py", CODE)], "'hw.zip': member ../x.py points outside the folder; zip relative paths"),
    ([(STUDENT_FILE, CODE), ("hw/../../etc/cron.d/x", b"")],
     "'hw.zip': member hw/../../etc/cron.d/x points outside the folder; zip relative paths"),
    ([("/etc/passwd", b"")],
     "'hw.zip': member /etc/passwd points outside the folder; zip relative paths"),
    ([(STUDENT_FILE, CODE), (special("data", stat.S_IFLNK), b"/etc/shadow")],
     "'hw.zip': member data is a symbolic link; zip real files only"),
    ([(special("tty", stat.S_IFCHR), b"")],
     "'hw.zip': member tty is not a regular file or folder; remove it"),
    ([(STUDENT_FILE, CODE), ("x\x1b[2J.py", b"")],
     "'hw.zip': member 'x\\x1b[2J.py' has control characters in its name; rename it"),
    ([(STUDENT_FILE, CODE), (STUDENT_FILE, CODE)],
     "'hw.zip' holds 'softmax_regression.py' twice; zip each file once"),
    ([(STUDENT_FILE, CODE), ("data", b"1"), ("data/x.csv", b"2")],
     "'hw.zip' holds 'data' both as a file and as a folder; zip one"),
    ([(f"f{i}.txt", b"x") for i in range(201)], "'hw.zip' holds 201 entries; the limit is 200"),
    ([], "'hw.zip' holds no file; zip the folder with your code"),
    ([("hw/", b""), ("hw/sub/", b"")], "'hw.zip' holds no file; zip the folder with your code"),
    ([(STUDENT_FILE, b""), ("x.txt", b"")],
     "'hw.zip' holds only empty files; zip the folder with your code"),
    ([("a/softmax_regression.py", CODE), ("b/helpers.py", CODE)],  # two folders: not unwrapped
     "'hw.zip' holds neither softmax_regression.py nor softmax_regression.ipynb at its top; "
     "send your folder with one of them in it"),
    ([("hw/sub/softmax_regression.py", CODE)],  # one folder is unwrapped, not two
     "'hw.zip' holds neither softmax_regression.py nor softmax_regression.ipynb at its top; "
     "send your folder with one of them in it"),
])
def test_zips_are_checked_as_a_batch_checks_them(members, reason):
    err = refused([("hw.zip", zip_of(members))])
    assert (err.status, err.reason) == (400, reason)


def test_an_encrypted_member_is_refused():
    sent = patched(zip_of([(STUDENT_FILE, CODE)]), STUDENT_FILE, "flags", 0x1)
    err = refused([("hw.zip", sent)])
    assert (err.status, err.reason) == (
        400, "'hw.zip': member softmax_regression.py is encrypted; zip it without a password")


def test_a_damaged_zip_is_refused():
    good = zip_of([(STUDENT_FILE, CODE)])
    for name, data, why in [("hw.zip", b"PK not really", "File is not a zip file"),
                            ("hw.zip", good[:-30], "File is not a zip file")]:
        err = refused([(name, data)])
        assert (err.status, err.reason) == (400, f"'hw.zip' is not a valid zip file: {why}")


def test_names_are_quoted_as_python_writes_them():
    """Printable names as they are, quotes and accents included; invisible ones escaped."""
    err = refused([("Zoë's try.zip", b"no zip")])
    assert err.reason == "\"Zoë's try.zip\" is not a valid zip file: File is not a zip file"
    err = refused([("hw\u200b.zip", zip_of([("../x", b"")]))])
    assert err.reason == "the file name 'hw\\u200b.zip' has control characters; rename the file"
