import FacilitiesProcess

await FacilitiesPlugin.make().run()
