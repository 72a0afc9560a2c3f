from buildcache.cli import main

main()
