item_id:token	plot:text
i1	A boy's toys come to life: really, truly.
i3	Three.
