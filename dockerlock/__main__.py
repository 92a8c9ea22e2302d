from dockerlock.cli import run

run()
