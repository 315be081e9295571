import NotificationProcess

await NotificationPlugin.make().run()
