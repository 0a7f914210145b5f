package translate

func (t *translator) istio(d document, ref *refusals) { ref.add("kind", "Istio: not yet supported") }
