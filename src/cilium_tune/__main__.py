from cilium_tune.cli.entry import run

run()
