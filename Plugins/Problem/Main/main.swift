import ProblemProcess

await ProblemPlugin.make().run()
