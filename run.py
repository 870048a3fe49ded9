#!/usr/bin/env python3
"""Run the hand-expressing assistant: see README.md, or `python run.py --help`."""

import sys

from voice.cli import main

if __name__ == "__main__":
    sys.exit(main())
