import os
import sys

# naive_similarity.py (test oracles) sits next to the tests
sys.path.insert(0, os.path.dirname(__file__))
