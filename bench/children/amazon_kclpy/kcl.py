"""amazon_kclpy.kcl: KCLProcess and CheckpointError, from the repository's minimal amazon_kclpy 3.x."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "test", "fixtures", "multilang"))

from kclpy_mini import CheckpointError, KCLProcess  # noqa: E402,F401
