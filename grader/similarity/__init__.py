"""Similarity (``grader similarity``): pairs of submissions ranked by the code they share beyond
the book (``fingerprints``, winnowing) and the rare wrong answers they share (``ranking``), from
the gradebook (``compare``, ``sources``) to html, csv or json (``outputs``). Evidence for a person
to read, never a score. Imports reports, batch, grading, gradebook, courses and below.
"""

from grader.similarity.compare import NotCompared, Similarity, compare_class
from grader.similarity.outputs import FORMATS, similarity, write_similarity
from grader.similarity.ranking import Pair

__all__ = ["FORMATS", "NotCompared", "Pair", "Similarity", "compare_class", "similarity",
           "write_similarity"]
