package translate

func (t *translator) calico(d document, ref *refusals) { ref.add("kind", "Calico: not yet supported") }
func (t *translator) istio(d document, ref *refusals)  { ref.add("kind", "Istio: not yet supported") }
