package mime

// AppendBodyStructure appends the BODYSTRUCTURE (extended true) or BODY
// (extended false) of p to dst (RFC 3501 §7.4.2).
func (p *Part) AppendBodyStructure(dst []byte, extended bool) []byte {
	return appendBody(dst, p, extended)
}
