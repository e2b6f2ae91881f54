"""Files written whole: a reader sees the last good file or the new one, never half of one.

Used for what staff open (exports, reports), for downloads checked before they count, and for
what the grader keeps in the user's cache. Imports nothing else of grader.
"""

from grader.files.whole import written_whole

__all__ = ["written_whole"]
