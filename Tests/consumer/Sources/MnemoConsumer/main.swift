// The consumer's whole program: an in-memory database, one space, three memories and a search
// through Mnemo's public API only. It prints the nearest memory's id and text, which
// scripts/consumer-test.sh checks.
import Mnemo

let database = try Database(options: DatabaseOptions(workers: 1))
let space = try await database.createSpace("consumer", dimension: 3, metric: .l2)
try await space.insert(contentsOf: [
    Memory(id: "north", vector: [0, 1, 0], text: "points north"),
    Memory(id: "east", vector: [1, 0, 0], text: "points east"),
    Memory(id: "up", vector: [0, 0, 1], text: "points up"),
])
let hits = try await space.search([0.9, 0.1, 0], k: 1)
if let nearest = hits.first {
    print("consumer nearest: \(nearest.id) \"\(nearest.text ?? "")\"")
} else {
    print("consumer: no result")
}
await database.close()
