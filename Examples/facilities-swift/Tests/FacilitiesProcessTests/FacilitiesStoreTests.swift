import FacilitiesProcess
import ITSMPluginKit
import ITSMPostgres
import ITSMProtocol
import ITSMTesting
import Testing

@Suite struct FacilitiesStoreTests {
    func makeStore() async throws -> (FacilitiesStore, PostgresPool) {
        let pool = try await TestPostgres.makeMigratedPool(
            label: "facilities", schema: FacilitiesSchema.name, migrations: FacilitiesSchema.migrations)
        return (FacilitiesStore(database: PluginDatabase(pool: pool, source: FacilitiesPlugin.name)), pool)
    }

    @Test func createNumbersRecordsHistoryAndPublishes() async throws {
        let (store, pool) = try await makeStore()
        let first = try await store.create(CreateRequest(title: "  Broken door on floor 2 "), actor: "token:desk")
        #expect(first.number == "FAC-000001" && first.title == "Broken door on floor 2" && first.status == "open")
        #expect(try await store.get(number: first.number).history?.map(\.newValue) == ["open"])
        let events = try await pool.query("SELECT type FROM itsm.outbox WHERE subject = \(first.id.uuidString.lowercased())")
        #expect(try events.map { try $0.decode(String.self, "type") } == ["facilities.created"])
    }

    @Test func completingTwiceIsRefusedAndUnknownNumbersAreNotFound() async throws {
        let (store, _) = try await makeStore()
        let request = try await store.create(CreateRequest(title: "Replace badge reader"), actor: "token:desk")
        #expect(try await store.complete(number: request.number, actor: "token:desk").status == "completed")
        await #expect(throws: ResponseError.self) { try await store.complete(number: request.number, actor: "token:desk") }
        await #expect(throws: ResponseError.self) { try await store.get(number: "FAC-999999") }
        await #expect(throws: ResponseError.self) { try await store.create(CreateRequest(title: " "), actor: "token:desk") }
        #expect(try await store.list(ListRequests(status: "completed")).items.map(\.number) == [request.number])
    }
}
