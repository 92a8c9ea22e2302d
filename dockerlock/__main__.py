from dockerlock.cli import main

main()
