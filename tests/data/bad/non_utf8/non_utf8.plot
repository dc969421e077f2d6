item_id:token	plot:text
i1	café in Latin-1
i2	bad ÿþ bytes
