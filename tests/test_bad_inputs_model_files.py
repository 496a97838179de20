"""Tampered, corrupted and oversized model files: one table of cases, each refused with a clear error.

Every row takes a valid saved model file and writes a bad one with
:mod:`zipfile` (tiny data: sizes the limits refuse are declared in the zip
directory, or the limits are lowered for the case), then checks the error
type and the words of its message. Adding a case is one line.
"""

import io
import json
import os
import struct
import warnings
import zipfile
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pytest
import torch
from test_persistence import fitted, videos  # noqa: F401  (videos is a fixture)

from unsupvad import persistence
from unsupvad.persistence import (
    CONFIG_ENTRY,
    WEIGHTS_ENTRY,
    Limits,
    ModelFileError,
    load_model,
    read_model_info,
    save_model,
)


# ---------------------------------------------------------------------- building bad files
def parts(src: Path) -> tuple[dict, bytes]:
    """The JSON config and the raw weights of a model file."""
    with zipfile.ZipFile(src) as archive:
        return json.loads(archive.read(CONFIG_ENTRY)), archive.read(WEIGHTS_ENTRY)


def write_zip(path: Path, entries) -> Path:
    """A zip of ``(name, data)`` or ``(name, data, compress_type)`` entries, duplicates allowed."""
    with warnings.catch_warnings(), zipfile.ZipFile(path, "w") as archive:
        warnings.simplefilter("ignore", UserWarning)  # zipfile warns about duplicate names
        for name, data, *method in entries:
            data = data if isinstance(data, bytes) else json.dumps(data).encode()
            archive.writestr(name, data, compress_type=method[0] if method else zipfile.ZIP_DEFLATED)
    return path


def rewrite(src: Path, tmp: Path, config=None, weights=None, extra=()) -> Path:
    """``src`` with its config (a dict, str or bytes) and/or weights (bytes or an object to torch.save) replaced."""
    old_config, old_weights = parts(src)
    config = old_config if config is None else config
    config = config.encode() if isinstance(config, str) else config
    if weights is not None and not isinstance(weights, bytes):
        weights = torch_bytes(weights)
    return write_zip(tmp / "bad.uvad", [(CONFIG_ENTRY, config), (WEIGHTS_ENTRY, weights or old_weights,
                                                                 zipfile.ZIP_STORED), *extra])


def edit(change):
    """A tamper function that applies ``change(config)`` (in place) to the JSON config."""
    def tamper(src, tmp):
        config = parts(src)[0]
        change(config)
        return rewrite(src, tmp, config)
    return tamper


def edit_weights(change):
    """A tamper function that applies ``change(state)`` (in place) to the loaded weights."""
    def tamper(src, tmp):
        state = torch.load(io.BytesIO(parts(src)[1]), weights_only=True)
        change(state)
        return rewrite(src, tmp, weights=state)
    return tamper


def torch_bytes(obj, **kwargs) -> bytes:
    buffer = io.BytesIO()
    torch.save(obj, buffer, **kwargs)
    return buffer.getvalue()


def net(state) -> dict:
    return state["nets"]["model.net_"]


def first_float(tensors: dict) -> str:
    return next(k for k, v in tensors.items() if v.is_floating_point() and v.numel())


def set_first(tensors: dict, value: float) -> None:
    tensors[first_float(tensors)].view(-1)[0] = value


def patch_headers(path: Path, name: str, **fields) -> Path:
    """Overwrite ``flags``, ``method``, ``csize`` or ``usize`` of entry ``name`` in both its zip headers."""
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        local, directory = archive.getinfo(name).header_offset, archive.start_dir
    while data[directory:directory + 4] == b"PK\x01\x02":
        n, m, k = struct.unpack_from("<3H", data, directory + 28)
        if data[directory + 46:directory + 46 + n] == name.encode():
            break
        directory += 46 + n + m + k
    offsets = {"flags": (6, 8, "<H"), "method": (8, 10, "<H"), "csize": (18, 20, "<L"), "usize": (22, 24, "<L")}
    for field, value in fields.items():
        in_local, in_directory, fmt = offsets[field]
        struct.pack_into(fmt, data, local + in_local, value)
        struct.pack_into(fmt, data, directory + in_directory, value)
    path.write_bytes(bytes(data))
    return path


def header_claims(name: str, **fields):
    def tamper(src, tmp):
        return patch_headers(rewrite(src, tmp), name, **fields)
    return tamper


def metadata_json(text: str):
    """A config whose metadata is the JSON ``text`` (written as such, not through json.dumps)."""
    def tamper(src, tmp):
        config = json.dumps({**parts(src)[0], "metadata": "@"}).replace('"@"', text)
        return rewrite(src, tmp, config)
    return tamper


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def file_of(content):
    """A tamper function writing ``content(valid file)`` as the bad file."""
    def tamper(src, tmp):
        (tmp / "bad.uvad").write_bytes(content(src))
        return tmp / "bad.uvad"
    return tamper


def stored_config(change):
    """Like :func:`edit`, with the JSON entry stored uncompressed (no ratio check to trip first)."""
    def tamper(src, tmp):
        config, weights = parts(src)
        change(config)
        return write_zip(tmp / "bad.uvad", [(CONFIG_ENTRY, config, zipfile.ZIP_STORED), (WEIGHTS_ENTRY, weights)])
    return tamper


def fifo(src, tmp):
    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs here")
    os.mkfifo(tmp / "fifo.uvad")
    return tmp / "fifo.uvad"


def inner_deflated(src, tmp):
    """weights.pt rewritten with its records deflated: torch.load would inflate them."""
    raw = parts(src)[1]
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(raw)) as inner, zipfile.ZipFile(out, "w") as archive:
        for info in inner.infolist():
            archive.writestr(info.filename, inner.read(info), compress_type=zipfile.ZIP_DEFLATED)
    return rewrite(src, tmp, weights=out.getvalue())


def ratio_from_header_alone(src, tmp):
    """A JSON entry of 1 KiB of garbage whose directory says: deflated, inflates to 60 MiB (under the size limit).

    Decompressing it would fail with a zlib error: the ratio error shows the
    refusal comes from the directory alone.
    """
    path = write_zip(tmp / "bad.uvad", [(CONFIG_ENTRY, os.urandom(1024), zipfile.ZIP_STORED),
                                        (WEIGHTS_ENTRY, parts(src)[1], zipfile.ZIP_STORED)])
    return patch_headers(path, CONFIG_ENTRY, method=zipfile.ZIP_DEFLATED, usize=60 * 2**20)


def lying_small_header(src, tmp):
    """A JSON entry that inflates to 5 MiB while its headers declare 1000 bytes: reading stops at 1000."""
    big = json.dumps({**parts(src)[0], "metadata": {"pad": " " * (5 * 2**20)}}).encode()
    path = rewrite(src, tmp, big)
    return patch_headers(path, CONFIG_ENTRY, usize=1000)


def duplicate(name: str):
    def tamper(src, tmp):
        config, weights = parts(src)
        other = {**config, "estimator": {**config["estimator"], "class": "unsupvad.RTFM"}}
        first = {CONFIG_ENTRY: config, WEIGHTS_ENTRY: weights}
        second = {CONFIG_ENTRY: other, WEIGHTS_ENTRY: weights}
        return write_zip(tmp / "bad.uvad", [(n, d) for n, d in first.items()] + [(name, second[name])])
    return tamper


def without(name: str):
    def tamper(src, tmp):
        config, weights = parts(src)
        return write_zip(tmp / "bad.uvad", [(n, d) for n, d in ((CONFIG_ENTRY, config), (WEIGHTS_ENTRY, weights))
                                            if n != name])
    return tamper


def duplicate_key(src, tmp):
    text = json.dumps(parts(src)[0]).replace('"class": "unsupvad.MIL"', '"class": "unsupvad.MIL", "class": "x"')
    return rewrite(src, tmp, text)


def fitted_attr(name, value):
    return edit(lambda c: c["estimator"]["fitted"].__setitem__(name, value))


def param(name, value):
    return edit(lambda c: c["estimator"]["params"].__setitem__(name, value))


def shared_views(state):
    base = torch.zeros(1000)
    state["arrays"].update({f"view{i}": base[:] for i in range(100)})


def exp_avg(state) -> torch.Tensor:
    return net(state)["optimizer"]["state"][0]["exp_avg"]


def deep_list(depth: int):
    value = []
    for _ in range(depth):
        value = [value]
    return value


# ---------------------------------------------------------------------- the table
class Case(NamedTuple):
    id: str
    tamper: object  # (valid model file, tmp_path) -> path of the bad file
    error: type
    match: str
    model: str = "mil"
    limits: Limits | None = None
    reader: object = load_model


CORRUPT = "not an unsupvad model file or a corrupted one"

CASES = [
    # the path
    Case("missing", lambda s, t: t / "absent.uvad", FileNotFoundError, "model file not found"),
    Case("folder", lambda s, t: t, ModelFileError, "is a folder"),
    Case("fifo_does_not_hang", fifo, ModelFileError, "is a FIFO"),
    Case("device_file", lambda s, t: Path(os.devnull), ModelFileError, "is a device or socket, not a model file"),
    Case("empty_file", file_of(lambda s: b""), ModelFileError, CORRUPT),
    Case("text_file", file_of(lambda s: b"hello"), ModelFileError, CORRUPT),
    Case("truncated", file_of(lambda s: s.read_bytes()[: s.stat().st_size // 2]), ModelFileError, CORRUPT),
    # the zip directory
    Case("duplicate_json_entry", duplicate(CONFIG_ENTRY), ModelFileError, "two entries named 'unsupvad-model.json'"),
    Case("duplicate_weights_entry", duplicate(WEIGHTS_ENTRY), ModelFileError, "two entries named 'weights.pt'"),
    Case("unexpected_entry", lambda s, t: rewrite(s, t, extra=[("payload.bin", b"x")]), ModelFileError,
         "unexpected entry 'payload.bin'"),
    Case("no_json", without(CONFIG_ENTRY), ModelFileError, "no unsupvad-model.json inside"),
    Case("no_weights", without(WEIGHTS_ENTRY), ModelFileError, "no weights.pt inside"),
    Case("too_many_entries", lambda s, t: rewrite(s, t, extra=[(f"e{i}", b"") for i in range(20)]),
         ModelFileError, r"lists 22 entries: over the limit max_entries=16"),
    Case("encrypted_flag", header_claims(CONFIG_ENTRY, flags=1), ModelFileError, "is encrypted"),
    Case("bzip2_entry", lambda s, t: write_zip(t / "b.uvad", [(CONFIG_ENTRY, parts(s)[0], zipfile.ZIP_BZIP2),
                                                              (WEIGHTS_ENTRY, parts(s)[1])]),
         ModelFileError, "compression method 12"),
    # sizes and ratios, from the directory before decompressing
    Case("json_declares_600MB", header_claims(CONFIG_ENTRY, usize=600 * 2**20), ModelFileError,
         r"inflates to 629,145,600 bytes: over the limit max_config_bytes=67,108,864"),
    Case("weights_declare_4GB", header_claims(WEIGHTS_ENTRY, usize=2**32 - 1), ModelFileError,
         r"would inflate [0-9,]+ times .* max_compression_ratio=200"),
    Case("weights_declare_2GB", header_claims(WEIGHTS_ENTRY, usize=2**31), ModelFileError,
         "over the limit max_weights_bytes=1,073,741,824", limits=Limits(max_weights_bytes=2**30)),
    Case("ratio_from_header_alone", ratio_from_header_alone, ModelFileError,
         r"would inflate 61,440 times .* max_compression_ratio=200"),
    Case("real_zip_bomb_8MiB_of_spaces", metadata_json(" " * (8 * 2**20) + "{}"), ModelFileError,
         "max_compression_ratio=200"),
    Case("lying_small_header_reads_no_further", lying_small_header, ModelFileError, "Bad CRC-32"),
    Case("json_over_lowered_limit", lambda s, t: s, ModelFileError, "max_config_bytes=100", limits=Limits(
        max_config_bytes=100)),
    Case("weights_over_lowered_limit", lambda s, t: s, ModelFileError, "max_weights_bytes=1,000",
         limits=Limits(max_weights_bytes=1000)),
    Case("ratio_under_lowered_threshold", lambda s, t: s, ModelFileError, "max_compression_ratio=1.5",
         limits=Limits(ratio_check_bytes=0, max_compression_ratio=1.5)),
    # the JSON
    Case("json_list_of_2M_values_stored", stored_config(lambda c: c.update(metadata=[0] * 2_000_000)),
         ModelFileError, "up to 2,000,0.. values: over the limit max_json_values=1,000,000"),
    Case("json_values_lowered", lambda s, t: s, ModelFileError, "max_json_values=20",
         limits=Limits(max_json_values=20)),
    Case("json_nested_100_deep", metadata_json(nested(100)), ModelFileError, "nested deeper than .* max_depth=64"),
    Case("json_nested_100k_deep", metadata_json(nested(100_000)), ModelFileError, "nested deeper .* max_depth=64"),
    Case("json_depth_lowered", lambda s, t: s, ModelFileError, "max_depth=4", limits=Limits(max_depth=4)),
    Case("json_not_an_object", lambda s, t: rewrite(s, t, "[1, 2]"), ModelFileError, "a list, not an object"),
    Case("json_invalid", lambda s, t: rewrite(s, t, "{not json"), ModelFileError, "not valid JSON"),
    Case("json_not_utf8", lambda s, t: rewrite(s, t, b"\xff\xfe\xfa"), ModelFileError, "not valid JSON"),
    Case("json_nan", metadata_json("NaN"), ModelFileError, "non-standard JSON constant NaN"),
    Case("json_duplicate_key", duplicate_key, ModelFileError, "the key 'class' appears twice"),
    Case("format_other", edit(lambda c: c.update(format="something-else")), ModelFileError,
         "format 'something-else'"),
    Case("version_newer", edit(lambda c: c.update(format_version=99)), ModelFileError, "newer unsupvad"),
    Case("version_string", edit(lambda c: c.update(format_version="1")), ModelFileError, "bad format_version '1'"),
    Case("version_bool", edit(lambda c: c.update(format_version=True)), ModelFileError, "bad format_version True"),
    Case("no_estimator", edit(lambda c: c.pop("estimator")), ModelFileError, "no estimator"),
    Case("estimator_a_list", edit(lambda c: c.update(estimator=[1])), ModelFileError, "no estimator"),
    Case("params_a_list", edit(lambda c: c["estimator"].update(params=[1])), ModelFileError,
         r"not \{class, params, fitted\}"),
    Case("class_not_allowed", edit(lambda c: c["estimator"].update({"class": "os.system"})), ModelFileError,
         "'os.system', which is not an unsupvad estimator"),
    Case("class_not_a_string", edit(lambda c: c["estimator"].update({"class": 5})), ModelFileError,
         "class 5, which is not"),
    Case("unknown_parameter", param("evil", 1), ModelFileError, "unsupvad.MIL has no parameter 'evil'"),
    Case("parameter_wrong_type", param("lr", "fast"), ModelFileError, "invalid parameters for unsupvad.MIL: .*'lr'"),
    Case("parameter_out_of_range", param("dropout", 2.0), ModelFileError, "invalid parameters .*'dropout'"),
    Case("parameter_bad_items", param("hidden_dims", ["a"]), ModelFileError, "corrupted or inconsistent"),
    Case("fitted_shadows_method", fitted_attr("score_snippets", 1), ModelFileError,
         "'score_snippets' does not end with '_'"),
    Case("fitted_shadows_property", fitted_attr("_repr_html_", 1), ModelFileError, "would replace MIL._repr_html_"),
    Case("fitted_dunder", fitted_attr("__class__", 1), ModelFileError, "special"),
    Case("fitted_not_identifier", fitted_attr("a-b_", 1), ModelFileError, "not a valid attribute name"),
    Case("fitted_net_missing", fitted_attr("net_", {"__net__": "nowhere"}), ModelFileError,
         "no saved network 'nowhere'"),
    Case("fitted_array_missing", fitted_attr("offset_", {"__array__": "x"}), ModelFileError, "no saved array 'x'"),
    Case("fitted_float_not_a_string", fitted_attr("offset_", {"__float__": 5}), ModelFileError, "bad __float__"),
    Case("fitted_float_garbage", fitted_attr("offset_", {"__float__": "abc"}), ModelFileError,
         "could not convert"),
    Case("info_metadata_bad_array", metadata_json('{"__array__": "x"}'), ModelFileError, "no saved array 'x'",
         reader=read_model_info),
    Case("info_checks_limits_too", lambda s, t: s, ModelFileError, "max_config_bytes=100",
         limits=Limits(max_config_bytes=100), reader=read_model_info),
    # the weights entry
    Case("weights_not_torch", lambda s, t: rewrite(s, t, weights=b"not a torch file"), ModelFileError,
         "weights.pt is not a torch file"),
    Case("weights_legacy_format", lambda s, t: rewrite(s, t, weights=torch_bytes(
        {"arrays": {}, "nets": {}}, _use_new_zipfile_serialization=False)), ModelFileError, "not a torch file"),
    Case("weights_records_deflated", inner_deflated, ModelFileError, "is compressed or encrypted"),
    Case("weights_pickled_code", lambda s, t: rewrite(s, t, weights=torch_bytes(
        {"arrays": {}, "nets": {}, "x": ModelFileError("x")})), ModelFileError, "unreadable weights"),
    Case("weights_not_a_dict", lambda s, t: rewrite(s, t, weights=[1, 2]), ModelFileError,
         "does not hold arrays and nets"),
    Case("weights_expanded_view", edit_weights(lambda w: w["arrays"].update(x=torch.zeros(1).expand(10**9))),
         ModelFileError, r"tensor 'arrays/x' spans 4,000,000,000 bytes over a storage of 4"),
    Case("weights_shared_views_over_limit", edit_weights(shared_views), ModelFileError,
         "tensors of its weights.pt take [0-9,]+ bytes: over the limit max_weights_bytes=200,000",
         limits=Limits(max_weights_bytes=200_000)),
    Case("weights_sparse", edit_weights(lambda w: w["arrays"].update(x=torch.sparse_coo_tensor(
        [[0]], [1.0], (10**12,), check_invariants=False))), ModelFileError, "not a dense tensor"),
    Case("weights_nested_100_deep", edit_weights(lambda w: w.update(x=deep_list(100))), ModelFileError,
         "weights.pt is nested deeper than the limit max_depth=64"),
    Case("weights_structure_lowered", lambda s, t: s, ModelFileError, "max_structure_bytes=500",
         limits=Limits(max_structure_bytes=500)),
    Case("nan_in_module", edit_weights(lambda w: set_first(net(w)["module"], float("nan"))), ModelFileError,
         r"network model.net_: its module tensor '[\w.]+' holds NaN or infinite values"),
    Case("inf_in_optimizer_state", edit_weights(lambda w: exp_avg(w).view(-1).__setitem__(0, float("inf"))),
         ModelFileError, "optimizer state of parameter 0 tensor 'exp_avg' holds NaN or infinite"),
    Case("optimizer_lr_nan", edit_weights(lambda w: net(w)["optimizer"]["param_groups"][0].update(lr=float("nan"))),
         ModelFileError, r"optimizer hyperparameter 'lr' \(group 0\) is nan, not a finite number"),
    Case("optimizer_betas_string", edit_weights(lambda w: net(w)["optimizer"]["param_groups"][0].update(betas="x")),
         ModelFileError, "hyperparameter 'betas'"),
    Case("optimizer_state_wrong_shape", edit_weights(
        lambda w: net(w)["optimizer"]["state"][0].update(exp_avg=torch.zeros(3))), ModelFileError,
         "optimizer state 'exp_avg' of parameter 0 has the shape \\(3,\\)"),
    Case("optimizer_groups_missing", edit_weights(lambda w: net(w)["optimizer"].update(param_groups=[])),
         ModelFileError, "does not have 1 parameter group"),
    Case("history_not_a_list", edit_weights(lambda w: net(w).update(history=5)), ModelFileError, "bad saved state"),
    # architecture parameters against the saved shapes, checked on the meta device before allocating
    Case("rtfm_branch_dim_huge", param("branch_dim", 10**6), ModelFileError,
         r"gives? .*the shape \(1000000, .* the saved weights", model="rtfm"),
    Case("mil_hidden_dims_edited", param("hidden_dims", {"__tuple__": [4096, 4]}), ModelFileError,
         r"the shape \(4096, 64\), the saved weights \(8, 64\)"),
    Case("feature_ae_n_features_edited", fitted_attr("n_features_in_", 10**6), ModelFileError,
         "the shape .*1000000", model="feature_ae"),
    Case("stgnf_n_flows_huge", param("n_flows", 10_000), ModelFileError,
         "more than .* modules and tensors, far more than its saved weights", model="stgnf"),
    Case("module_key_missing", edit_weights(lambda w: net(w)["module"].pop(first_float(net(w)["module"]))),
         ModelFileError, r"does not fit the saved weights \(missing \['"),
    Case("module_value_not_tensor", edit_weights(lambda w: net(w)["module"].update(x="y")), ModelFileError,
         "not a dict of tensors"),
]


@pytest.fixture(scope="module")
def model_files(videos, tmp_path_factory):  # noqa: F811
    """A valid model file of each tiny model the cases tamper with."""
    X, y = videos
    folder = tmp_path_factory.mktemp("valid")
    return {name: save_model(fitted(name, X, y), folder / f"{name}.uvad") for name in ("mil", "rtfm", "stgnf",
                                                                                       "feature_ae")}


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_model_file_is_refused(case, model_files, tmp_path):
    bad = case.tamper(model_files[case.model], tmp_path)
    kwargs = {} if case.limits is None else {"limits": case.limits}
    with pytest.raises(case.error, match=case.match) as caught:
        case.reader(bad, **kwargs)
    if case.error is ModelFileError:
        assert str(bad) in str(caught.value)  # the message names the file


def test_case_ids_are_unique():
    assert len({case.id for case in CASES}) == len(CASES)


def test_valid_files_load_under_their_own_limits(model_files, tmp_path):
    """The defaults (and limits just above a file's needs) load every valid file; raised limits load more."""
    for path in model_files.values():
        load_model(path)
    load_model(model_files["mil"], limits=Limits(max_weights_bytes=10**6, max_json_values=10**4, max_depth=16))
    padded = metadata_json(" " * (8 * 2**20) + "{}")(model_files["mil"], tmp_path)  # refused by default (above)
    assert read_model_info(padded, limits=Limits(max_compression_ratio=2000))["metadata"] == {}
    load_model(padded, limits=Limits(max_compression_ratio=2000))
    with pytest.raises(TypeError, match="Limits"):
        load_model(model_files["mil"], limits={"max_depth": 3})


def test_default_limits_can_be_replaced_for_the_process(model_files, monkeypatch):
    monkeypatch.setattr(persistence, "DEFAULT_LIMITS", Limits(max_weights_bytes=1000))
    with pytest.raises(ModelFileError, match="max_weights_bytes=1,000"):
        load_model(model_files["mil"])
    assert persistence.MAX_WEIGHTS_BYTES == Limits().max_weights_bytes == 4 * 2**30  # the documented default


def test_save_is_atomic(model_files, tmp_path, monkeypatch):
    """A failed save leaves the existing file untouched and no temporary file; a save ends with os.replace."""
    model = load_model(model_files["mil"])
    target = save_model(model, tmp_path / "model.uvad")
    before = target.read_bytes()
    moves = []
    real_replace = os.replace
    monkeypatch.setattr(os, "replace", lambda a, b: moves.append((Path(a), Path(b))) or real_replace(a, b))
    save_model(model, target)
    assert [(a.parent, b) for a, b in moves] == [(tmp_path, target)] and moves[0][0].name.endswith(".tmp")

    real_writestr = zipfile.ZipFile.writestr

    def fail_on_weights(self, name, data, *args, **kwargs):
        if name == WEIGHTS_ENTRY:
            raise OSError("disk full")
        return real_writestr(self, name, data, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "writestr", fail_on_weights)
    with pytest.raises(OSError, match="disk full"):
        save_model(model, target)
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.uvad"]


def test_save_refuses_what_would_not_load(model_files, tmp_path):
    model = load_model(model_files["mil"])
    with pytest.raises(ValueError, match="would not load .*max_depth=64"):
        save_model(model, tmp_path / "deep.uvad", metadata={"deep": deep_list(80)})
    with pytest.raises(TypeError, match="metadata holding arrays"):
        save_model(model, tmp_path / "array.uvad", metadata={"a": np.arange(3)})
    with pytest.raises(TypeError, match="reserved by the format"):
        save_model(model, tmp_path / "tag.uvad", metadata={"__array__": "x"})
    model.note = "a plain attribute"
    with pytest.raises(TypeError, match="model.note: the attribute name does not end with '_'"):
        save_model(model, tmp_path / "note.uvad")
    assert list(tmp_path.iterdir()) == []
