import SupplierProcess

await SupplierPlugin.make().run()
