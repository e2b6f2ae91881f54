"""The starter files `grader init` copies into a new submission folder (this file stays here)."""
