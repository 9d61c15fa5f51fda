"""The teacher-prediction store: the teacher's per-image outputs, computed once.

Per image: heatmaps (H, W, 17) and tags (h, w, T) at the teacher's output
resolutions (1/2 and 1/4 for HigherHRNet), each with the affine (2, 3) that maps
the map position of a peak to the joint's image position
(`rtpe_jax.coordinates.from_map`; format 3: formats 1-2 mapped map positions to
image positions without the map convention's half pixel). Each channel is quantised to uint8 over its own [min, max]
(error at most half a step, step = (max - min) / 255) and the channels are
deflated (zlib level 1: inflating is several times faster than PNG, which
matters in the input pipeline) as (C, H, W) planes, so a record is a few percent
of the float32 bytes for the mostly empty, smooth maps a teacher produces.

Layout of a store directory:
  store.json                   format version, joints, tag channels
  {writer}-{n:05d}.bin         records, concatenated
  {writer}-{n:05d}.index.json  [[image_id, offset, length], ...]; written last,
                               atomically: a shard without it is incomplete
Writing is resumable (a new writer skips the ids already in complete shards and
removes its own incomplete shard) and several writers (processes, hosts) can fill
one store under different writer names.

A record (little-endian): header `RECORD_HEADER`, then float32 heatmap affine
(6), tag affine (6), heatmap low (Ch) and step (Ch), tag low (Ct) and step (Ct),
the deflated heatmap planes and tag planes. The CRC32 covers everything after its own field.
"""

from __future__ import annotations

import dataclasses
import glob
import json
import logging
import os
import re
import struct
import zlib

import numpy as np

FORMAT_VERSION = 3
MAGIC = b"RTPT"
# magic, crc32, image id, heatmap h, w, tag h, w, heatmap channels, tag channels, data lengths
RECORD_HEADER = struct.Struct("<4sIqHHHHHHII")
_SHARD_RE = re.compile(r"^(?P<writer>[\w.]+)-(?P<n>\d{5})\.bin$")


class StoreError(ValueError):
  """A teacher store that cannot be used as asked."""


class MissingPrediction(StoreError, KeyError):
  """No record for an image."""

  def __str__(self):  # KeyError would quote the message
    return str(self.args[0])


class CorruptPrediction(StoreError):
  """A record that does not decode."""


@dataclasses.dataclass
class TeacherPrediction:
  heatmaps: np.ndarray  # (H, W, 17) float32
  tags: np.ndarray  # (h, w, T) float32
  affine: np.ndarray  # (2, 3) float32: heatmap position of a peak -> the joint's image position
  tag_affine: np.ndarray | None = None  # (2, 3) for the tags; None: the same as `affine`

  def __post_init__(self):
    if self.tag_affine is None:
      self.tag_affine = self.affine


def quantise(maps: np.ndarray):
  """(H, W, C) float -> uint8 (H, W, C), low (C,), step (C,); x ~ low + q * step."""
  maps = np.asarray(maps, np.float32)
  if not np.isfinite(maps).all():
    raise StoreError("maps contain NaN or Inf")
  low = maps.min(axis=(0, 1))
  step = (maps.max(axis=(0, 1)) - low) / 255.0
  safe = np.where(step > 0, step, 1.0)
  q = np.rint((maps - low) / safe).clip(0, 255).astype(np.uint8)
  return q, low.astype(np.float32), step.astype(np.float32)


def dequantise(q: np.ndarray, low: np.ndarray, step: np.ndarray) -> np.ndarray:
  return low + q.astype(np.float32) * step


def deflate_planes(q: np.ndarray, level: int = 1) -> bytes:
  """(H, W, C) uint8 -> the channel planes (C, H, W), deflated (zlib)."""
  return zlib.compress(np.ascontiguousarray(q.transpose(2, 0, 1)).tobytes(), level)


def inflate_planes(data: bytes, h: int, w: int, c: int) -> np.ndarray:
  """deflate_planes' bytes -> (C, H, W) uint8, or ValueError."""
  flat = np.frombuffer(zlib.decompress(data), np.uint8)
  if flat.size != c * h * w:
    raise ValueError(f"{flat.size} values, expected {c} x {h} x {w}")
  return flat.reshape(c, h, w)


def encode_record(image_id: int, prediction: TeacherPrediction, level: int = 1) -> bytes:
  """One record's bytes."""
  heatmaps, tags = np.asarray(prediction.heatmaps), np.asarray(prediction.tags)
  if heatmaps.ndim != 3 or tags.ndim != 3:
    raise StoreError(
      f"image {image_id}: heatmaps {heatmaps.shape} and tags {tags.shape} must be (H, W, C)"
    )
  try:
    q_hm, hm_low, hm_step = quantise(heatmaps)
    q_tag, tag_low, tag_step = quantise(tags)
  except StoreError as err:
    raise StoreError(f"image {image_id}: {err}") from None
  hm_data, tag_data = deflate_planes(q_hm, level), deflate_planes(q_tag, level)
  floats = (
    np.concatenate(
      [
        np.asarray(prediction.affine, np.float32).reshape(6),
        np.asarray(prediction.tag_affine, np.float32).reshape(6),
        hm_low,
        hm_step,
        tag_low,
        tag_step,
      ]
    )
    .astype("<f4")
    .tobytes()
  )
  body = floats + hm_data + tag_data
  rest = (
    RECORD_HEADER.pack(
      MAGIC,
      0,
      image_id,
      *heatmaps.shape[:2],
      *tags.shape[:2],
      heatmaps.shape[2],
      tags.shape[2],
      len(hm_data),
      len(tag_data),
    )[8:]
    + body
  )
  return MAGIC + struct.pack("<I", zlib.crc32(rest)) + rest


@dataclasses.dataclass
class EncodedPrediction:
  """A parsed record whose maps are still deflated (decoded by the pipeline or `decode`)."""

  image_id: int
  heatmap_hw: tuple[int, int]
  tag_hw: tuple[int, int]
  affine: np.ndarray  # (2, 3) heatmap peak position -> the joint's image position
  tag_affine: np.ndarray  # (2, 3) the same for the tags
  heatmap_low: np.ndarray  # (Ch,)
  heatmap_step: np.ndarray
  tag_low: np.ndarray  # (Ct,)
  tag_step: np.ndarray
  heatmap_data: bytes  # deflate_planes of (17, H, W) uint8
  tag_data: bytes  # deflate_planes of (T, h, w) uint8

  def decode(self) -> TeacherPrediction:
    hm = inflate_planes(self.heatmap_data, *self.heatmap_hw, len(self.heatmap_low))
    tags = inflate_planes(self.tag_data, *self.tag_hw, len(self.tag_low))
    hm, tags = hm.transpose(1, 2, 0), tags.transpose(1, 2, 0)
    return TeacherPrediction(
      dequantise(hm, self.heatmap_low, self.heatmap_step),
      dequantise(tags, self.tag_low, self.tag_step),
      self.affine,
      self.tag_affine,
    )


def parse_record(data: bytes, where: str = "record") -> EncodedPrediction:
  """Checks magic, length and CRC; raises CorruptPrediction naming `where`."""
  if len(data) < RECORD_HEADER.size or data[:4] != MAGIC:
    raise CorruptPrediction(f"{where}: not a teacher-store record (bad header)")
  _, crc, image_id, hh, hw, th, tw, ch, ct, n_hm, n_tag = RECORD_HEADER.unpack_from(data)
  if zlib.crc32(data[8:]) != crc:
    raise CorruptPrediction(f"{where}: checksum mismatch (truncated or corrupted record)")
  n_floats = 12 + 2 * ch + 2 * ct
  start = RECORD_HEADER.size
  floats = np.frombuffer(data, "<f4", n_floats, start).astype(np.float32)
  start += 4 * n_floats
  if len(data) != start + n_hm + n_tag:
    raise CorruptPrediction(f"{where}: record length does not match its header")
  parts = np.split(floats, np.cumsum([6, 6, ch, ch, ct]))
  return EncodedPrediction(
    image_id=image_id,
    heatmap_hw=(hh, hw),
    tag_hw=(th, tw),
    affine=parts[0].reshape(2, 3),
    tag_affine=parts[1].reshape(2, 3),
    heatmap_low=parts[2],
    heatmap_step=parts[3],
    tag_low=parts[4],
    tag_step=parts[5],
    heatmap_data=data[start : start + n_hm],
    tag_data=data[start + n_hm :],
  )


def _read_meta(path: str) -> dict | None:
  meta_path = os.path.join(path, "store.json")
  if not os.path.exists(meta_path):
    return None
  with open(meta_path) as f:
    meta = json.load(f)
  if meta.get("format_version") != FORMAT_VERSION:
    raise StoreError(
      f"{meta_path}: format version {meta.get('format_version')}, this code reads "
      f"{FORMAT_VERSION}; run infer_teacher.py again into a new --out (earlier formats' "
      "affines do not carry the map convention's half pixel)"
    )
  return meta


def _complete_shards(path: str):
  """{shard .bin path: index entries} of the complete shards."""
  shards = {}
  for index_path in sorted(glob.glob(os.path.join(path, "*.index.json"))):
    bin_path = index_path[: -len(".index.json")] + ".bin"
    if not os.path.exists(bin_path):
      raise StoreError(f"{index_path}: its shard {os.path.basename(bin_path)} is missing")
    with open(index_path) as f:
      shards[bin_path] = json.load(f)
  return shards


class TeacherStore:
  """Random access to a store: `store[image_id]` -> TeacherPrediction."""

  def __init__(self, path: str):
    self.path = path
    if not os.path.isdir(path):
      raise StoreError(f"{path}: no teacher store (run infer_teacher.py to write one)")
    self.meta = _read_meta(path)
    if self.meta is None:
      raise StoreError(f"{path}: not a teacher store (no store.json)")
    self._where = {}
    for bin_path, entries in _complete_shards(path).items():
      for image_id, offset, length in entries:
        self._where[int(image_id)] = (bin_path, offset, length)

  def __len__(self):
    return len(self._where)

  def __contains__(self, image_id) -> bool:
    return int(image_id) in self._where

  def image_ids(self) -> list[int]:
    return sorted(self._where)

  def read_bytes(self, image_id: int) -> bytes:
    if image_id not in self._where:
      raise MissingPrediction(f"{self.path}: no teacher prediction for image {image_id}")
    bin_path, offset, length = self._where[image_id]
    with open(bin_path, "rb") as f:
      f.seek(offset)
      return f.read(length)

  def read_encoded(self, image_id: int) -> EncodedPrediction:
    bin_path, offset, _ = self._where.get(image_id, ("", 0, 0))
    where = f"{self.path}: image {image_id} ({os.path.basename(bin_path)} at byte {offset})"
    record = parse_record(self.read_bytes(image_id), where)
    if record.image_id != image_id:
      raise CorruptPrediction(f"{where}: the record holds image {record.image_id}")
    return record

  def __getitem__(self, image_id: int) -> TeacherPrediction:
    record = self.read_encoded(image_id)
    try:
      return record.decode()
    except (zlib.error, ValueError) as err:
      raise CorruptPrediction(f"{self.path}: image {image_id}: maps do not decode: {err}") from None


class TeacherStoreWriter:
  """Appends records to a store; resumable. Use as a context manager.

  with TeacherStoreWriter(out, num_joints=17, tag_channels=17) as writer:
    for image_id, prediction in work:  # TeacherPrediction
      if image_id not in writer:
        writer.add(image_id, prediction)
  """

  def __init__(
    self,
    path: str,
    num_joints: int,
    tag_channels: int,
    writer: str = "part0",
    shard_size: int = 256,
    level: int = 1,
  ):
    if not re.fullmatch(r"[\w.]+", writer):
      raise ValueError(f"writer name {writer!r}: use letters, digits, '_' and '.'")
    self.path, self.writer, self.shard_size = path, writer, shard_size
    self.level = level
    os.makedirs(path, exist_ok=True)
    meta = {
      "format_version": FORMAT_VERSION,
      "num_joints": num_joints,
      "tag_channels": tag_channels,
      "quantisation": "uint8 per channel, zlib",
    }
    existing = _read_meta(path)
    if existing is None:
      _write_json_atomic(os.path.join(path, "store.json"), meta)
    elif (existing["num_joints"], existing["tag_channels"]) != (num_joints, tag_channels):
      raise StoreError(
        f"{path}: the store holds {existing['num_joints']} heatmaps and "
        f"{existing['tag_channels']} tag channels, not {num_joints} and "
        f"{tag_channels}"
      )
    self.num_joints, self.tag_channels = num_joints, tag_channels
    shards = _complete_shards(path)
    self._stored = {int(e[0]) for entries in shards.values() for e in entries}
    numbers = [-1]
    for bin_path in glob.glob(os.path.join(path, f"{writer}-*.bin")):
      match = _SHARD_RE.match(os.path.basename(bin_path))
      if not match or match["writer"] != writer:
        continue
      if bin_path in shards:
        numbers.append(int(match["n"]))
      else:
        logging.warning(
          "%s: removing incomplete shard %s from an interrupted run",
          path,
          os.path.basename(bin_path),
        )
        os.remove(bin_path)
    self._next_shard = max(numbers) + 1
    self._file, self._entries = None, []

  def __contains__(self, image_id) -> bool:
    return int(image_id) in self._stored

  def __len__(self):
    return len(self._stored)

  def add(self, image_id: int, prediction: TeacherPrediction):
    image_id = int(image_id)
    heatmaps, tags = prediction.heatmaps, prediction.tags
    if image_id in self._stored:
      raise StoreError(f"{self.path}: image {image_id} is already stored")
    if heatmaps.shape[-1] != self.num_joints or tags.shape[-1] != self.tag_channels:
      raise StoreError(
        f"image {image_id}: {heatmaps.shape[-1]} heatmaps and {tags.shape[-1]} "
        f"tag channels, the store takes {self.num_joints} and {self.tag_channels}"
      )
    record = encode_record(image_id, prediction, self.level)
    if self._file is None:
      self._file = open(self._shard_path(self._next_shard), "wb")
    self._entries.append((image_id, self._file.tell(), len(record)))
    self._file.write(record)
    self._stored.add(image_id)
    if len(self._entries) >= self.shard_size:
      self.flush()

  def flush(self):
    """Completes the open shard (its index makes it visible to readers and restarts)."""
    if self._file is None:
      return
    self._file.flush()
    os.fsync(self._file.fileno())
    self._file.close()
    bin_path = self._shard_path(self._next_shard)
    _write_json_atomic(bin_path[: -len(".bin")] + ".index.json", self._entries)
    self._file, self._entries = None, []
    self._next_shard += 1

  def close(self):
    self.flush()

  def __enter__(self):
    return self

  def __exit__(self, *exc):
    self.close()

  def _shard_path(self, n: int) -> str:
    return os.path.join(self.path, f"{self.writer}-{n:05d}.bin")


def _write_json_atomic(path: str, obj) -> None:
  tmp = path + ".tmp"
  with open(tmp, "w") as f:
    json.dump(obj, f)
  os.replace(tmp, path)


def read_people_file(path: str) -> dict[int, list[dict]]:
  """image id -> the teacher's people (COCO results) of one results-shard*.jsonl
  file of infer_teacher.py (the last line of an image wins); {} if absent."""
  done = {}
  if os.path.exists(path):
    with open(path) as f:
      for n, line in enumerate(f, 1):
        line = line.strip()
        if not line:
          continue
        try:
          entry = json.loads(line)
          done[int(entry["image_id"])] = entry["people"]
        except (json.JSONDecodeError, KeyError, TypeError, ValueError):
          raise StoreError(f"{path}:{n}: not a line of infer_teacher.py's people") from None
  return done


def read_people(out: str) -> dict[int, list[dict]]:
  """image id -> the teacher's people of every shard in infer_teacher.py's OUT."""
  merged = {}
  for name in sorted(os.listdir(out)):
    if name.startswith("results-shard") and name.endswith(".jsonl"):
      merged.update(read_people_file(os.path.join(out, name)))
  return merged
