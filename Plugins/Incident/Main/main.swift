import IncidentProcess

await IncidentPlugin.make().run()
