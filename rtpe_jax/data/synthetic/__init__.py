"""A synthetic COCO-format person-keypoints dataset, for CPU runs and tests.

  python -m rtpe_jax.data.synthetic --out data/synthetic --train 256 --val 64 --seed 0
  python -m rtpe_jax.data.synthetic --out data/synthetic --unlabelled 4096   # + a pool
  python -m rtpe_jax.data.synthetic --video out/clip.avi    # a 24-frame clip for predict.py

writes, exactly as COCO lays it out::

  OUT/images/train2017/000000000001.jpg ...
  OUT/images/val2017/...
  OUT/annotations/person_keypoints_train2017.json
  OUT/annotations/person_keypoints_val2017.json

and with --unlabelled N an extra split of N images that training treats as
unlabelled (as COCO's unlabeled2017; it learns from them through a teacher's
predictions, `rtpe_jax.data.unlabelled`): OUT/images/unlabelled2017/, its labels
kept apart in OUT/annotations/withheld_person_keypoints_unlabelled2017.json, a
name no loader reads (only to score the teacher on the pool:
`infer_teacher.py --images ... --annotations ...`).

Each image has 0 to 6 articulated figures (outlined limbs and torso of varied
colours and widths, hands, shoes, a face when facing the camera, hair when
seen from the back) of small, medium and large size on a textured background
with distractor shapes. Joints covered by a figure drawn later get v=1, joints
outside the frame v=0. Some images hold a crowd region (iscrowd=1, RLE) and
some people are annotated without keypoints (num_keypoints=0), as in COCO.
Each image depends only on (seed, split, index), so the result is the same
whatever the number of worker processes.

Modules: `figures` (the poses and body shapes), `drawing` (figures and
backgrounds drawn), `annotations` (masks, RLE, COCO annotations and keypoint
labels), `scenes` (one image and its annotations), `writer` (a split written in
parallel), `video` (a clip), `cli` (the command line, `python -m`).
"""
