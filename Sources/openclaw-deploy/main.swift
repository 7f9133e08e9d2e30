import DeployCLI

await RootCommand.main()
