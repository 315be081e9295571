/// Line framing: however the bytes are split into reads, the frames are the same, and no
/// line over the cap is ever returned whole.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzLineFramer(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let bytes = Array(UnsafeRawBufferPointer(start: start, count: count))
    guard let first = bytes.first else { return 0 }
    let cap = Int(first % 64) + 1
    let data = Array(bytes.dropFirst())
    var whole = LineFramer(maxLineBytes: cap)
    let expected = whole.append(data) + whole.finish()
    var pieces = LineFramer(maxLineBytes: cap)
    var frames: [LineFramer.Frame] = []
    var offset = 0
    var step = 1
    while offset < data.count {
        let end = min(data.count, offset + step)
        frames += pieces.append(data[offset..<end])
        offset = end
        step = step % 7 + 1
    }
    frames += pieces.finish()
    precondition(frames == expected, "the frames depend on how the bytes were split")
    for case .line(let line) in frames { precondition(line.count <= cap) }
    return 0
}
