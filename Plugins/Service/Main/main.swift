import ServiceProcess

await ServicePlugin.make().run()
