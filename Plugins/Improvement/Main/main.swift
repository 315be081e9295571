import ImprovementProcess

await ImprovementPlugin.make().run()
