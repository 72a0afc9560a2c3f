from buildcache.main import main

main()
