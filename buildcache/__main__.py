from buildcache.cli.main import main

main()
