import DeployCLI

await RootCommand.runAndExit()
