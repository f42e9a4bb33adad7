"""A syrupy extension that keeps each golden output as a real file under golden/:
golden/<target>/<case>.<ext> (golden/<target>/<case>/<file> when a case writes several),
and golden/warnings/<case>.txt. `pytest --snapshot-update` writes them."""

from __future__ import annotations

from pathlib import Path

from syrupy.data import Snapshot, SnapshotCollection
from syrupy.extensions.single_file import SingleFileSnapshotExtension, WriteMode

GOLDEN = Path(__file__).resolve().parent.parent / "golden"


class GoldenFile(SingleFileSnapshotExtension):
    _write_mode = WriteMode.TEXT
    file_extension = "golden"  # never used in a path: get_location is overridden

    @classmethod
    def get_snapshot_name(cls, *, test_location, index=0) -> str:
        return str(index)

    @classmethod
    def get_location(cls, *, test_location, index) -> str:
        return str(GOLDEN / str(index))

    @classmethod
    def dirname(cls, *, test_location) -> str:
        return str(GOLDEN)

    @classmethod
    def discovery_dirname(cls, *, test_location) -> str:
        return str(GOLDEN)

    def is_snapshot_location(self, *, location: str) -> bool:
        return Path(location).is_relative_to(GOLDEN)

    def owns_snapshot_collection(self, *, filepath: str, test_location) -> bool:
        return Path(filepath).is_relative_to(GOLDEN)

    @classmethod
    def matches_test_location(cls, *, test_location, snapshot_location: str) -> bool:
        return Path(snapshot_location).is_relative_to(GOLDEN)

    def read_snapshot_collection(self, *, snapshot_location: str) -> SnapshotCollection:
        collection = SnapshotCollection(location=snapshot_location)
        name = Path(snapshot_location).relative_to(GOLDEN).as_posix()
        collection.add(Snapshot(name=name))
        return collection

    @classmethod
    def write_snapshot_collection(cls, *, snapshot_collection, name_order=None) -> None:
        Path(snapshot_collection.location).parent.mkdir(parents=True, exist_ok=True)
        super().write_snapshot_collection(snapshot_collection=snapshot_collection, name_order=name_order)
