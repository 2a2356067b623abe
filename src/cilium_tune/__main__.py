from cilium_tune.cli.main import main

main()
