import CapacityProcess

await CapacityPlugin.make().run()
