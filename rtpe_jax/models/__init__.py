"""Models: the HigherHRNet teacher and its loading."""

from rtpe_jax.models.hrnet import ARCHS, HigherHRNet, HRNetConfig, HRNetStem, StageConfig
from rtpe_jax.models.weights import load_teacher

__all__ = ["ARCHS", "HigherHRNet", "HRNetConfig", "HRNetStem", "StageConfig", "load_teacher"]
