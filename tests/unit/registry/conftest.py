"""Make the registry contract importable by the store test modules (here and functional)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
