// The key layout, without etcd: member and assignment keys are built and parsed back, space ids are
// fixed-width hex so keys sort like ids, and foreign keys are rejected.

import MnemoCluster
import MnemoPlacement
import Testing

@Suite("ClusterKeys")
struct ClusterKeysTests {
    @Test("keys round-trip and sort like ids")
    func layout() {
        let keys = ClusterKeys(root: "/mnemo/prod/")
        #expect(keys.root == "/mnemo/prod")
        #expect(keys.member(NodeID(rawValue: 42)) == "/mnemo/prod/members/42")
        #expect(keys.node(fromKey: "/mnemo/prod/members/42") == NodeID(rawValue: 42))
        #expect(keys.leader == "/mnemo/prod/leader")
        let spaces: [SpaceID] = [SpaceID(rawValue: 0), SpaceID(rawValue: 0xff), SpaceID(rawValue: .max)]
        let built = spaces.map(keys.assignment)
        #expect(built[1] == "/mnemo/prod/assignments/00000000000000ff")
        #expect(built == built.sorted())
        #expect(built.map(keys.space(fromKey:)) == spaces)
        let moves = spaces.map(keys.move)
        #expect(moves[1] == "/mnemo/prod/moves/00000000000000ff")
        #expect(moves.map(keys.space(fromMoveKey:)) == spaces)
        #expect(keys.load(NodeID(rawValue: 7)) == "/mnemo/prod/load/7")
        #expect(keys.node(fromLoadKey: "/mnemo/prod/load/7") == NodeID(rawValue: 7))
        #expect(ClusterKeys.hex(SpaceID(rawValue: 0xab)) == "00000000000000ab")
        #expect(ClusterKeys.space(hex: "00000000000000ab") == SpaceID(rawValue: 0xab))
    }

    @Test("foreign and malformed keys are not members or spaces")
    func foreign() {
        let keys = ClusterKeys(root: "/mnemo/a")
        #expect(keys.node(fromKey: "/mnemo/b/members/1") == nil)
        #expect(keys.node(fromKey: "/mnemo/a/members/x") == nil)
        #expect(keys.space(fromKey: "/mnemo/a/assignments/zz") == nil)
        #expect(keys.space(fromKey: "/mnemo/a/members/1") == nil)
        #expect(keys.space(fromMoveKey: "/mnemo/a/assignments/00000000000000ab") == nil)
        #expect(keys.space(fromMoveKey: "/mnemo/a/moves/") == nil)
        #expect(keys.node(fromLoadKey: "/mnemo/a/members/1") == nil)
        #expect(ClusterKeys.space(hex: "00000000000000abc") == nil)
    }
}
