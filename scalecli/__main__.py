from scalecli.cli import main

main()
