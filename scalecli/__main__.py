from scalecli.entry import main

main()
