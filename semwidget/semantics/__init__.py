"""What directions mean: scoring many samples (probe), HiGAN's layer-wise re-scoring,
entanglement and attribute change, and the plots of them."""

from ._entanglement import AttributeChange, attribute_change, direction_similarity
from ._plots import plot_matrix
from ._probe import ProbeResult, probe
from ._rescore import Rescoring, rescore

__all__ = [
    "AttributeChange",
    "ProbeResult",
    "Rescoring",
    "attribute_change",
    "direction_similarity",
    "plot_matrix",
    "probe",
    "rescore",
]
