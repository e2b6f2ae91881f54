"""The far side of the process boundary: sandbox, isolation, zygote, worker, child, wire, probes.

Student code runs in a child this package forks and confines. It knows no assignment and no
check: it imports ``grader.numeric``, ``grader.data``, ``grader.options`` and
``grader.outcomes``, and nothing above it is imported from here.
"""
