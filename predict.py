"""People in images or a video, with a trained student or a HigherHRNet.

  python predict.py --model out/quickstart/export --image photo.jpg --out out/predict
  python predict.py --model models/pose_higher_hrnet_w32_512 --dir tests/fixtures
  python predict.py --model out/quickstart/export --video clip.avi --out out/video

Writes, under --out, an overlay PNG per image (or overlay.avi for a video) and
keypoints.json (COCO results; image ids from the file names' digits, else
their order; for a video the frame index). Prints the first call's compile
time apart from the steady frames/s.

A model with depth maps (a 3D student, configs/quickstart3d.py) also gives each
person of an image "keypoints_3d" (17 x 3 camera mm: x right, y down, z
forward) in keypoints.json and draws the people seen from above beside the
overlay; the camera: --intrinsics (a JSON 3 x 3 in pixel indices) or a
centred one of --fov degrees across (default 60):

  python predict.py --model out/quickstart3d/export --dir data/synthetic3d/images/val2017 --fov 60
"""

import argparse
import json
import os
import re
import sys
import time

import numpy as np


def _image_id(path: str, index: int) -> int:
  digits = re.sub(r"\D", "", os.path.splitext(os.path.basename(path))[0])
  return int(digits) if digits else index


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  parser.add_argument("--model", required=True, help="model directory (arch.json + variables/)")
  source = parser.add_mutually_exclusive_group(required=True)
  source.add_argument("--image")
  source.add_argument("--dir", help="every .jpg/.jpeg/.png in it")
  source.add_argument("--video")
  parser.add_argument("--out", default="out/predict")
  parser.add_argument("--input-size", type=int, help="shorter side (default: the model's, or 512)")
  parser.add_argument("--dtype", default="float32", choices=("float32", "bfloat16", "float16"))
  parser.add_argument(
    "--no-flip",
    action="store_true",
    help="skip the mirrored run (default: as the model was scored)",
  )
  parser.add_argument("--no-fold", action="store_true", help="keep batch norm unfolded")
  parser.add_argument("--threshold", type=float, default=0.1, help="joints drawn above this")
  parser.add_argument(
    "--min-score",
    type=float,
    default=0.2,
    help="people drawn from this score (mean joint value) up; all are saved",
  )
  parser.add_argument("--intrinsics", help="3D models: a JSON file of the 3 x 3 camera matrix")
  parser.add_argument(
    "--fov", type=float, default=60.0, help="3D models without --intrinsics: degrees across"
  )
  args = parser.parse_args(argv)

  from rtpe_jax.data.images import read_image
  from rtpe_jax.inference import overlays, predictor, protocol

  model = predictor.load(args.model, args.dtype, fold=not args.no_fold, input_size=args.input_size)
  os.makedirs(args.out, exist_ok=True)
  flip = False if args.no_flip else None  # None: as the model was scored (arch.json)
  results = []
  if args.video:
    frames = list(predictor.read_video(args.video))
    if not frames:
      raise SystemExit(f"{args.video}: no frames")
    timing = predictor.timed_stream(model, frames, flip=flip)
    h, w = frames[0].shape[:2]
    writer = cv2_writer(os.path.join(args.out, "overlay.avi"), w, h)
    for index, (frame, (keypoints, scores)) in enumerate(zip(frames, timing["results"])):
      drawn = np.asarray(
        overlays.draw_people(frame, keypoints, args.threshold, scores, args.min_score)
      )
      writer.write(drawn[..., ::-1])
      results += protocol.coco_results(index, keypoints, scores)
    writer.release()
    print(
      f"{len(frames)} frames {w}x{h}: first call (compile) {timing['compile_s']:.2f} s, "
      f"then {timing['frames_per_s']:.1f} frames/s (network, grouping, mapping back)"
    )
  else:
    paths = (
      [args.image]
      if args.image
      else sorted(
        os.path.join(args.dir, f)
        for f in os.listdir(args.dir)
        if f.lower().endswith((".jpg", ".jpeg", ".png"))
      )
    )
    if not paths:
      raise SystemExit(f"{args.dir}: no .jpg/.jpeg/.png images")
    seconds = []
    for index, path in enumerate(paths):
      image = read_image(path, index)
      start = time.perf_counter()
      if model.spec.depth:
        K = _intrinsics(args, image.shape[:2])
        keypoints, scores, keypoints_3d = predictor.predict_image_3d(model, image, K, flip)
      else:
        keypoints, scores = predictor.predict_image(model, image, flip)
      seconds.append(time.perf_counter() - start)
      name = os.path.splitext(os.path.basename(path))[0]
      picture = overlays.draw_people(image, keypoints, args.threshold, scores, args.min_score)
      found = protocol.coco_results(_image_id(path, index), keypoints, scores)
      if model.spec.depth:
        top = overlays.top_view(keypoints_3d, image.shape[0], scores, args.min_score)
        picture = overlays.with_top_view(picture, top)
        for result, person in zip(found, keypoints_3d):
          result["keypoints_3d"] = [round(float(v), 1) for v in person.reshape(-1)]
      picture.save(os.path.join(args.out, f"{name}.png"))
      results += found
      print(f"{path}: {len(scores)} people, {1000 * seconds[-1]:.0f} ms")
    print(
      f"first image (with compile) {seconds[0]:.2f} s"
      + (f"; median of the rest {1000 * np.median(seconds[1:]):.0f} ms" if len(seconds) > 1 else "")
    )
  with open(os.path.join(args.out, "keypoints.json"), "w") as f:
    json.dump(results, f)
  print(f"overlays and keypoints.json ({len(results)} people): {args.out}")
  return 0


def _intrinsics(args, image_hw) -> np.ndarray:
  """(3, 3) pixel-index intrinsics: --intrinsics, else a centred camera of --fov."""
  if args.intrinsics:
    with open(args.intrinsics) as f:
      K = np.asarray(json.load(f), np.float64)
    if K.shape != (3, 3):
      raise SystemExit(f"{args.intrinsics}: not a 3 x 3 matrix ({K.shape})")
    return K
  from rtpe_jax.threed.synthetic3d import intrinsics

  return intrinsics(image_hw[1], image_hw[0], args.fov)


def cv2_writer(path: str, width: int, height: int, fps: float = 25.0):
  import cv2

  writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*"MJPG"), fps, (width, height))
  if not writer.isOpened():
    raise SystemExit(f"{path}: cannot write a video here")
  return writer


if __name__ == "__main__":
  sys.exit(main())
